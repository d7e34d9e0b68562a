/**
 * The fault matrix: each scenario (flag, gradual, application, database) against each fault that
 * can meet it: an app that never becomes healthy; an admin API that answers 500, never answers, or
 * stops half-way through its body; a notification channel that is down; a lock held by a live run
 * and by a dead one; a disk that fills during a backup and during a restore; a corrupted backup; a
 * missing manifest; a stale -wal; a database another process holds open; Ctrl-C at every step.
 * Each case must give one clear line that names the fault, the documented exit code and no stack
 * trace; leave a journal that ends (finished or interrupted) and agrees with the world (read from
 * outside: the flag table, git, /health, SHA-256, the sqlite3 CLI); lose nothing (the database
 * whole, its rows or the backup's, every backup file still there); and, once the fault is gone,
 * `resume` or a new run must complete the rollback.
 * CI runs a sample (TRIMP_FAULTS unset); `npm run test:reliability` runs every case (TRIMP_FAULTS=all).
 */
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, cli, ROOT, spawnCli } from '../helpers/cli.js';
import { flipByte, integrityCheck, mountTmpfs, sqliteScalar } from '../helpers/files.js';
import { forwardTo, type HostileServer, startHostileServer } from '../helpers/hostile-server.js';
import { journalOf, runIds, waitForEvent } from '../helpers/journal.js';
import { planCases, recordCases } from '../helpers/reliability.js';
import { sha256, startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { journalIn, SCENARIOS, type Scenario, type World } from '../helpers/scenarios.js';

const ALL = process.env.TRIMP_FAULTS === 'all';
const HOLD = join(ROOT, 'test/fixtures/runbooks/hold-lock.yaml');

/** What a fault did to the sandbox, and what takes it away again. */
interface Arranged {
  args?: string[];
  /** Runs while the command runs (Ctrl-C at a step); resolves once it has acted. */
  during?: (child: ReturnType<typeof spawnCli>) => Promise<void>;
  /** Takes the fault away, so that resume or a new run can complete. */
  clear(): Promise<void>;
  /** Undone after the case, whatever happened (a file system unmounted). */
  dispose?(): void;
  /** The arguments the run that completes afterwards needs (a dead run's lock is taken over). */
  recoverWith?: string[];
}

interface FaultCase {
  scenario: string;
  fault: string;
  arrange(sb: TestSandbox, before: World): Promise<Arranged>;
  /** The documented exit code, or SIGINT for Ctrl-C. */
  exit: number | 'SIGINT' | (number | 'SIGINT')[];
  /** The line that names the fault. */
  says: RegExp;
  /** In CI's sample. */
  sample?: boolean;
  /** The sandbox (database, backups, state) on a small file system of its own. */
  smallDisk?: boolean;
  /** What else must hold afterwards (its problems; empty: it holds). */
  check?(sb: TestSandbox, rowsBefore: number): Promise<string[]>;
}

const hostiles: HostileServer[] = [];
afterAll(async () => {
  for (const h of hostiles) await h.close();
});

/** A proxy in front of the app that answers some requests itself: how a misbehaving app is made. */
async function proxy(sb: TestSandbox, intercept: Parameters<typeof forwardTo>[1]): Promise<string> {
  const server = await startHostileServer(forwardTo(sb.baseUrl, intercept));
  hostiles.push(server);
  return server.url;
}

const isAdmin = (url: string | undefined) => (url ?? '').startsWith('/api/admin/');

/** Short deadlines: a fault that makes the tool wait must not make the matrix wait minutes. Returns the undo. */
function shortDeadlines(sb: TestSandbox): () => Promise<void> {
  const original = readFileSync(sb.config, 'utf8');
  const text = original.replace('health_deadline: 60s', 'health_deadline: 3s');
  writeFileSync(sb.config, text.replace('  token_file: ./admin-token\n', '  token_file: ./admin-token\n  http_timeout_ms: 1500\n'));
  // The run that completes afterwards has the usual deadlines (a loaded machine needs them).
  return async () => writeFileSync(sb.config, original);
}

/** A process that holds the lock and changes nothing: a runbook that only waits. */
async function liveHolder(sb: TestSandbox): Promise<{ process: ReturnType<typeof spawnCli> }> {
  const known = runIds(sb.stateDir);
  const holder = spawnCli(['run', HOLD, '--yes', '--config', sb.config]);
  await waitForEvent(sb.stateDir, known, (e) => e.type === 'step.started' && e.step === 'pause');
  // Wrapped: a child process is a promise, and returning it from here would wait for its end.
  return { process: holder };
}

/** The newest backup's database file and manifest. */
function newestBackup(sb: TestSandbox): { db: string; manifest: string } {
  const dir = join(sb.dir, 'backups');
  const [db] = readdirSync(dir)
    .filter((n) => n.endsWith('.db'))
    .sort()
    .reverse();
  return { db: join(dir, db as string), manifest: join(dir, (db as string).replace(/\.db$/, '.json')) };
}

/** Fills a small file system until `free` bytes are left. */
function fill(dir: string, free: number): void {
  // In pieces, and a full disk ends it: the tool may be writing at the same moment.
  const fd = openSync(join(dir, 'filler'), 'a');
  try {
    for (;;) {
      const left = (() => {
        const fs = statfsSync(dir);
        return fs.bavail * fs.bsize - free;
      })();
      if (left <= 0) return;
      writeSync(fd, Buffer.alloc(Math.min(left, 1024 * 1024)));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

const scenario = (name: string) => (name === 'database' ? intactDatabase : (SCENARIOS.find((s) => s.name === name) as Scenario));

// Faults every scenario can meet.
const general: Omit<FaultCase, 'scenario'>[] = [
  {
    fault: 'app never healthy',
    arrange: async (sb) => {
      const clear = shortDeadlines(sb);
      const url = await proxy(sb, (req, res) => {
        if (req.url !== '/health') return false;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'unhealthy', database_connection_status: 'connected', version: 'x' }));
        return true;
      });
      return { args: ['--base-url', url], clear };
    },
    exit: 1,
    says: /not healthy|unhealthy|503/,
  },
  {
    fault: 'admin API answers 500',
    arrange: async (sb) => {
      const url = await proxy(sb, (req, res) => {
        if (!isAdmin(req.url)) return false;
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"internal"}');
        return true;
      });
      return { args: ['--base-url', url], clear: async () => {} };
    },
    exit: 1,
    says: /\b500\b(?! ms)/,
  },
  {
    fault: 'admin API never answers',
    arrange: async (sb) => {
      const clear = shortDeadlines(sb);
      const url = await proxy(sb, (req) => isAdmin(req.url));
      return { args: ['--base-url', url], clear };
    },
    exit: 1,
    says: /no answer within \d+ ms/,
  },
  {
    fault: 'admin API hangs mid-body',
    arrange: async (sb) => {
      const clear = shortDeadlines(sb);
      const url = await proxy(sb, (req, res) => {
        if (!isAdmin(req.url)) return false;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
        res.write('{"flags": {"enhanced_trimp_calculation": {"adm');
        return true;
      });
      return { args: ['--base-url', url], clear };
    },
    exit: 1,
    says: /no complete answer within \d+ ms/,
  },
  {
    fault: 'notification channel down',
    arrange: async (sb) => {
      appendFileSync(sb.config, 'notify:\n  channels:\n    - { kind: webhook, url: "http://127.0.0.1:9/hook" }\n');
      return { clear: async () => {} };
    },
    exit: 0,
    says: /notif.*(failed|could not|refused)|could not notify|ECONNREFUSED/i,
  },
  {
    fault: 'lock held by a live run',
    arrange: async (sb) => {
      const holder = (await liveHolder(sb)).process;
      return {
        clear: async () => {
          holder.kill('SIGINT');
          holder.kill('SIGINT');
          await holder;
          // The holder's interrupted run is not the one to resume afterwards.
          rmSync(join(sb.stateDir, 'runs'), { recursive: true, force: true });
        },
      };
    },
    exit: 4,
    says: /another rollback holds the lock/,
  },
  {
    fault: 'lock held by a dead run',
    arrange: async (sb) => {
      const holder = (await liveHolder(sb)).process;
      holder.kill('SIGKILL');
      await holder;
      return {
        clear: async () => {
          rmSync(join(sb.stateDir, 'runs'), { recursive: true, force: true });
        },
        recoverWith: ['--force-unlock', '--reason', 'the holder was killed'],
      };
    },
    exit: 4,
    says: /stale lock.*--force-unlock/,
  },
];

/**
 * The database scenario on an intact database (the crash matrix's breaks it on purpose): users
 * wrote activities after the backup, so the old database and the backup differ, and "nothing
 * lost" can be read in both.
 */
const intactDatabase: Scenario = {
  ...(SCENARIOS.find((x) => x.name === 'database') as Scenario),
  prepare: async (sb) => {
    const created = await cli(['backup', 'create', '--json', '--config', sb.config]);
    expect(created.exitCode, created.stderr).toBe(0);
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${sb.baseUrl}/api/activities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: 4 + i, duration_minutes: 45, avg_hr: 140 }),
      });
      expect(response.status).toBe(201);
    }
    return { sha: (JSON.parse(created.stdout) as { sha256: string }).sha256 };
  },
};

/** A process that holds the database open in a read transaction (as a stray sqlite3 shell would). */
async function holdOpen(database: string): Promise<{ pid: number; stop(): void }> {
  const code = `const D=require('better-sqlite3');const db=new D(${JSON.stringify(database)});db.prepare('BEGIN').run();db.prepare('SELECT COUNT(*) FROM activities').get();console.log('open');setInterval(()=>{},1000);`;
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { pid: child.pid as number, stop: () => child.kill('SIGKILL') };
}

/** A -wal left by a writer that was killed before it checkpointed: committed rows the file alone lacks. */
async function staleWal(database: string): Promise<void> {
  const code = `const D=require('better-sqlite3');const db=new D(${JSON.stringify(database)});db.pragma('journal_mode = WAL');db.pragma('wal_autocheckpoint = 0');const i=db.prepare("INSERT INTO activities (user_id, date, duration_minutes, trimp) SELECT user_id, date, duration_minutes, trimp FROM activities LIMIT 7");i.run();process.kill(process.pid,'SIGKILL');`;
  await new Promise<void>((resolve) => spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: 'inherit' }).on('exit', () => resolve()));
  if (!existsSync(`${database}-wal`)) throw new Error('the writer left no -wal');
}

const databaseFaults: FaultCase[] = [
  {
    scenario: 'application',
    fault: 'not enough disk for the backup',
    arrange: async (sb) => {
      const mount = mountTmpfs(join(sb.dir, 'backups-full'), '8m');
      if (!mount) throw new Error('cannot mount a tmpfs here (root is needed)');
      fill(join(sb.dir, 'backups-full'), 64 * 1024);
      writeFileSync(sb.config, readFileSync(sb.config, 'utf8').replace('dir: ./backups', 'dir: ./backups-full'));
      return {
        clear: async () => {
          rmSync(join(sb.dir, 'backups-full', 'filler'));
        },
        dispose: () => mount.unmount(),
      };
    },
    exit: 1,
    says: /no space|not enough disk|disk is full|ENOSPC/i,
    sample: true,
  },
  {
    scenario: 'database',
    fault: 'not enough disk for the restore',
    smallDisk: true,
    arrange: async (sb) => {
      // The database's own file system (where the restore stages its copy) is filled to 64 KiB.
      fill(sb.dir, 64 * 1024);
      return { clear: async () => rmSync(join(sb.dir, 'filler')) };
    },
    exit: 1,
    says: /no space|not enough disk|disk is full|ENOSPC/i,
  },
  ...(
    [
      ['application', 'the disk fills after the app stopped, before the backup'],
      ['database', 'the disk fills after the app stopped, before the restore'],
    ] as const
  ).map(
    ([name, fault]): FaultCase => ({
      scenario: name,
      fault,
      smallDisk: true,
      // The checks before the stop pass; then something else takes the disk while the app is down.
      arrange: async (sb) => {
        // Room for the checks before the stop (a copy and a megabyte to spare), and little more:
        // what is left goes in a few milliseconds once the app is stopped.
        fill(sb.dir, statSync(sb.database).size + 3 * 1024 * 1024);
        return { during: fillWhen(sb, 'stop-app'), clear: async () => rmSync(join(sb.dir, 'filler'), { force: true }) };
      },
      exit: 1,
      says: /not enough disk|no space|ENOSPC/i,
    }),
  ),
  {
    scenario: 'database',
    fault: 'corrupted backup',
    arrange: async (sb) => {
      const { db } = newestBackup(sb);
      const good = readFileSync(db);
      flipByte(db);
      return { clear: async () => writeFileSync(db, good) };
    },
    exit: 1,
    says: /SHA-256|checksum|does not match|corrupt/i,
    sample: true,
  },
  {
    scenario: 'database',
    fault: 'missing manifest',
    arrange: async (sb) => {
      const { manifest } = newestBackup(sb);
      const text = readFileSync(manifest);
      rmSync(manifest);
      return { clear: async () => writeFileSync(manifest, text) };
    },
    exit: [1, 2],
    says: /manifest/i,
  },
  {
    scenario: 'database',
    fault: 'stale -wal beside the database',
    arrange: async (sb) => {
      await sb.stop();
      await staleWal(sb.database);
      return { clear: async () => {} };
    },
    // The app was down already: the rollback proceeds, and the WAL's rows go with the kept file.
    exit: 0,
    says: /of WAL (moved|checkpointed)/,
    check: async (sb, rowsBefore) => {
      const kept = readdirSync(sb.dir).filter((name) => name.startsWith('training_data.db.pre-restore-') && !/-(wal|shm)$/.test(name));
      if (kept.length !== 1) return [`expected one kept database, found ${kept.length}`];
      const rows = Number(await sqliteScalar(join(sb.dir, kept[0] as string), 'SELECT COUNT(*) FROM activities'));
      return rows === rowsBefore + 7
        ? []
        : [`the kept database has ${rows} activities, not the ${rowsBefore + 7} the stale -wal held: rows were lost`];
    },
  },
  ...(['application', 'database'] as const).map(
    (name): FaultCase => ({
      scenario: name,
      fault: 'database held open by another process',
      arrange: async (sb) => {
        const holder = await holdOpen(sb.database);
        return { clear: async () => holder.stop(), dispose: () => holder.stop() };
      },
      exit: 1,
      says: /open|busy|locked|another (process|connection)/i,
    }),
  ),
];

/**
 * A `during` hook: acts as soon as the journal of the run just started says the step began;
 * nothing if the run ends first (a step that does not run).
 */
function whenStepStarts(sb: TestSandbox, step: string, act: (child: ReturnType<typeof spawnCli>) => void) {
  return async (child: ReturnType<typeof spawnCli>) => {
    let ended = false;
    void child.then(() => {
      ended = true;
    });
    const known = runIds(sb.stateDir);
    while (!ended) {
      const id = runIds(sb.stateDir).find((r) => !known.includes(r)) ?? runIds(sb.stateDir).at(-1);
      if (id && journalOf(sb.stateDir, id).some((e) => e.type === 'step.started' && e.step === step)) {
        act(child);
        return;
      }
      await sleep(5);
    }
  };
}

/** Fills the sandbox's disk (to 256 KiB) as soon as the step began. */
const fillWhen = (sb: TestSandbox, step: string) => whenStepStarts(sb, step, () => fill(sb.dir, 256 * 1024));

/** The steps of a runbook, in order (Ctrl-C is tried at each). */
function stepsOfRunbook(name: string): string[] {
  return [...readFileSync(join(ROOT, 'runbooks', `${name}.yaml`), 'utf8').matchAll(/^ {2}- id: (\S+)/gm)].map((m) => m[1] as string);
}

/** SIGINT as soon as the step began (Ctrl-C at that step). */
function ctrlCAt(step: string, sb: TestSandbox, reached: Set<string>) {
  return whenStepStarts(sb, step, (child) => {
    child.kill('SIGINT');
    reached.add(step);
  });
}

const reachedSteps = new Map<string, Set<string>>();
const ctrlC: FaultCase[] = (
  [
    ['flag --all', 'flag'],
    ['gradual', 'gradual'],
    ['application', 'application'],
    ['database', 'database'],
  ] as const
).flatMap(([name, runbook]) => {
  const reached = new Set<string>();
  reachedSteps.set(name, reached);
  return stepsOfRunbook(runbook).map(
    (step, i): FaultCase => ({
      scenario: name,
      fault: `Ctrl-C at step ${step}`,
      arrange: async (sb) => ({ during: ctrlCAt(step, sb, reached), clear: async () => {} }),
      exit: ['SIGINT', 0],
      says: /Interrupt|interrupted|succeeded/,
      sample: name === 'application' && i === 6,
    }),
  );
});

const scenarios = ['flag --all', 'gradual', 'application', 'database'];
const cases: FaultCase[] = [
  // CI's sample of the general faults: a live lock against the flag rollback.
  ...scenarios.flatMap((name) =>
    general.map((g) => ({ ...g, scenario: name, sample: name === 'flag --all' && g.fault === 'lock held by a live run' })),
  ),
  ...databaseFaults,
  ...ctrlC,
];

/** A stack trace, or our own last-resort message: never for a fault the tool knows. */
const STACK = /^\s+at .+:\d+:\d+\)?$|internal error/m;

async function runCase(c: FaultCase): Promise<string[]> {
  const s = scenario(c.scenario);
  // The restore's disk-full case puts the whole sandbox (database, backups) on a small file system.
  const fs = c.smallDisk ? mkdtempSync(join(tmpdir(), 'trimp-fault-fs-')) : undefined;
  const mount = fs ? mountTmpfs(fs, '48m') : undefined;
  if (fs && !mount) throw new Error('cannot mount a tmpfs here (root is needed)');
  const sb = await startTestSandbox('trimp-fault-', {
    ...(s.traffic ? { traffic: s.traffic } : {}),
    ...(fs ? { dir: join(fs, 'sandbox') } : {}),
  });
  if (fs) Object.assign(sb, { dir: join(fs, 'sandbox') });
  const problems: string[] = [];
  let arranged: Arranged | undefined;
  try {
    const before = await s.prepare(sb);
    // The database before the run: its activities (a live file's bytes change as the app checkpoints).
    const rows = await sqliteScalar(sb.database, 'SELECT COUNT(*) FROM activities');
    arranged = await c.arrange(sb, before);
    // What the fault left of the backups: each must still be there after the run.
    const backupsBefore = existsSync(join(sb.dir, 'backups')) ? readdirSync(join(sb.dir, 'backups')) : [];
    const known = runIds(sb.stateDir);
    const child = spawnCli([...s.args, ...(arranged.args ?? []), '--config', sb.config]);
    await arranged.during?.(child);
    const done = await child;
    const result: CliResult = { exitCode: done.exitCode, signal: done.signal, stdout: String(done.stdout), stderr: String(done.stderr) };
    const output = `${result.stdout}\n${result.stderr}`;
    const exits = [c.exit].flat();
    const ended = result.signal === 'SIGINT' ? 'SIGINT' : result.exitCode;
    if (!exits.includes(ended as number | 'SIGINT'))
      problems.push(`ended ${ended}, documented ${exits.join(' or ')}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`);
    // The line that names the fault: for a failure, the error line or a failed step's line and its
    // reason (not any line of the run's progress); for a success, anywhere.
    const lines = output.split('\n');
    const failureLines =
      ended === 0
        ? lines
        : lines.filter(
            (line, i) =>
              line.startsWith('trimp-rollback: ') ||
              line.startsWith('✗') ||
              (lines[i - 1] ?? '').startsWith('✗') ||
              /^Interrupt/.test(line),
          );
    if (!failureLines.some((line) => c.says.test(line)))
      problems.push(`no error line names the fault (${c.says}): ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    if (STACK.test(output)) problems.push(`a stack trace: ${output.match(STACK)?.[0]}`);

    // The journal: it ends, and the world is what it says.
    const runs = runIds(sb.stateDir).filter((id) => !known.includes(id));
    const events = runs.length ? journalOf(sb.stateDir, runs[0] as string) : [];
    // The run's own last word (a notification that failed after it may follow).
    const last = events.filter((e) => e.type.startsWith('run.')).at(-1)?.type;
    if (events.length > 0 && last !== 'run.finished' && last !== 'run.interrupted') problems.push(`the journal ends with ${last}`);
    problems.push(...(await s.truth(sb, events, before)));

    // Nothing lost: the database is whole, holds its rows (or is the backup), every backup is still there.
    // Nothing lost: the database is whole and holds every activity it had (users may add some
    // meanwhile: the gradual sandbox has traffic), or it is exactly the backup the run restored.
    const restored = c.scenario === 'database' && sha256(sb.database) === before.sha;
    if ((await integrityCheck(sb.database)) !== 'ok') problems.push(`the ${restored ? 'restored ' : ''}database fails integrity_check`);
    else if (!restored && Number(await sqliteScalar(sb.database, 'SELECT COUNT(*) FROM activities')) < Number(rows))
      problems.push('activities were lost');
    problems.push(...((await c.check?.(sb, Number(rows))) ?? []));
    const backupsAfter = existsSync(join(sb.dir, 'backups')) ? readdirSync(join(sb.dir, 'backups')) : [];
    for (const name of backupsBefore) if (!backupsAfter.includes(name)) problems.push(`backup file ${name} is gone`);

    // Once the fault is gone, the rollback completes: it may already have (a fault that only hid
    // the app's health from the tool), else resume or a new run finishes it.
    await arranged.clear();
    const open = journalIn(sb.stateDir);
    const finished = open?.events.some((e) => e.type === 'run.finished' && e.status === 'succeeded');
    if (!finished && (await s.rolledBack(sb, before)).length > 0) {
      const resumable = open?.events.some((e) => e.type === 'run.started') && !open?.events.some((e) => e.type === 'run.finished');
      const recovered = resumable
        ? await cli(['resume', '--yes', '--config', sb.config, ...(arranged.recoverWith ?? [])])
        : await cli([...s.args, '--config', sb.config, ...(arranged.recoverWith ?? [])]);
      if (recovered.exitCode !== 0)
        problems.push(
          `once the fault was gone, ${resumable ? 'resume' : 'a new run'} exited ${recovered.exitCode}: ${recovered.stderr.trim().split('\n').at(-1)}`,
        );
    }
    problems.push(...(await s.rolledBack(sb, before)));
  } finally {
    await sb.stop();
    arranged?.dispose?.();
    await sb.remove();
    mount?.unmount();
  }
  return problems;
}

const chosen = ALL ? cases : cases.filter((c) => c.sample);

describe(`the fault matrix (${chosen.length} of ${cases.length} cases${ALL ? '' : ', CI sample'})`, () => {
  const failed: string[] = [];
  afterAll(() => {
    const isCtrlC = (c: FaultCase) => c.fault.startsWith('Ctrl-C');
    const count = (ctrl: boolean) => {
      const these = chosen.filter((c) => isCtrlC(c) === ctrl);
      const bad = failed.filter((f) => f.includes(' / Ctrl-C') === ctrl);
      return { cases: these.length, held: these.length - bad.length, failed: bad };
    };
    const reached = [...reachedSteps.values()].reduce((n, steps) => n + steps.size, 0);
    const tried = chosen.filter(isCtrlC).length;
    if (count(false).cases > 0)
      recordCases({ family: 'faults', key: 'faults', part: 'each scenario against each fault it can meet', ...count(false) });
    if (tried > 0)
      recordCases({
        family: 'faults',
        key: 'ctrl-c',
        part: `Ctrl-C at every step of every scenario (${reached} of ${tried} signalled while their step ran; the others' runs ended first)`,
        ...count(true),
      });
  });
  planCases({
    family: 'faults',
    key: 'faults',
    part: 'each scenario against each fault it can meet',
    cases: chosen.filter((c) => !c.fault.startsWith('Ctrl-C')).length,
  });
  planCases({
    family: 'faults',
    key: 'ctrl-c',
    part: 'Ctrl-C at every step of every scenario',
    cases: chosen.filter((c) => c.fault.startsWith('Ctrl-C')).length,
  });
  for (const c of chosen) {
    it(`${c.scenario}: ${c.fault}`, async () => {
      // Counted as not held until it ends: a case that times out is not a case that held.
      const pending = `${c.scenario} / ${c.fault}: did not finish within its time`;
      failed.push(pending);
      const problems = await runCase(c).catch((error: Error) => [`the case could not run: ${error.message.split('\n')[0]}`]);
      failed.splice(failed.indexOf(pending), 1);
      if (problems.length > 0) failed.push(`${c.scenario} / ${c.fault}: ${problems.join('; ')}`);
      expect(problems.join('\n')).toBe('');
    }, 180_000);
  }
});

/**
 * The crash matrix over the scenarios that change the flag and the running release: `flag --all`,
 * `gradual` (every cohort failing, so all three stages run) and `application` (after a bad
 * deploy), each SIGKILLed and SIGINTed at seeded moments of a calibrated run, and `database`
 * SIGINTed (its SIGKILLs are in database-crash.test.ts). After each signal, before anything else
 * touches the target:
 * - the world is what the journal says: a flag state or a release that the journal says was
 *   changed is changed, one it says was not reached is not (a step in flight may be either);
 * - after SIGINT the run ended by SIGINT (or had finished) and released both locks;
 * then `resume` (or a new run, if none had begun) completes, the world is the rolled-back one, no
 * process of the run is left once the sandbox stops, and no temporary file is left.
 * CI runs one case per scenario (SIGKILL for two, SIGINT for two); `npm run test:reliability` runs
 * both signals, TRIMP_SCENARIO_KILLS cases each (TRIMP_CRASH_SIGNALS=both).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { randomSource } from '../../src/sandbox/seed.js';
import { cli, jsonOf, spawnCli } from '../helpers/cli.js';
import type { Event } from '../helpers/journal.js';
import { recordCases } from '../helpers/reliability.js';
import { sha256, startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const KILLS = Number(process.env.TRIMP_SCENARIO_KILLS ?? 1);
const SEED = Number(process.env.TRIMP_CRASH_SEED ?? 20261129);

type Flags = Record<string, boolean>;
const ALL_ON: Flags = { admin: true, beta: true, regular: true };
const ALL_OFF: Flags = { admin: false, beta: false, regular: false };

interface Scenario {
  name: string;
  args: string[];
  traffic?: number;
  /** Breaks the sandbox the way this scenario is for; returns what the end state is compared with. */
  prepare(sb: TestSandbox): Promise<World>;
  /** Where the world differs from what the journal says (empty: it agrees). */
  truth(sb: TestSandbox, events: Event[], before: World): Promise<string[]>;
  /** Where the world differs from the rolled-back one, once the run is complete. */
  rolledBack(sb: TestSandbox, before: World): Promise<string[]>;
}

interface World {
  head?: string;
  sha?: string;
}

const git = async (dir: string, ...args: string[]) => String((await execa('git', ['-C', dir, ...args])).stdout).trim();

function journalIn(stateDir: string): { runId: string; events: Event[] } | undefined {
  const runs = existsSync(join(stateDir, 'runs')) ? readdirSync(join(stateDir, 'runs')) : [];
  const [runId] = runs;
  if (!runId) return undefined;
  const file = join(stateDir, 'runs', runId, 'journal.jsonl');
  const events = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Event];
          } catch {
            return []; // a line torn by the kill: the tool skips it too (journal-faults.test.ts)
          }
        })
    : [];
  return { runId, events };
}

/** The steps the journal says finished with a change made, and the ones it says began and did not end. */
function stepsOf(events: Event[]): { done: Map<string, Event>; inFlight: Map<string, Event> } {
  const done = new Map<string, Event>();
  const inFlight = new Map<string, Event>();
  for (const e of events) {
    const step = e.step as string | undefined;
    if (!step) continue;
    if (e.type === 'step.started') inFlight.set(step, e);
    if (e.type === 'step.finished') {
      inFlight.delete(step);
      if (e.status === 'succeeded') done.set(step, e);
    }
  }
  return { done, inFlight };
}

/** The flag as the journal has it: each finished flag change applied; cohorts of one in flight may be either. */
async function flagTruth(sb: TestSandbox, events: Event[]): Promise<string[]> {
  const expected: Flags = { ...ALL_ON };
  const either = new Set<string>();
  for (const e of events) {
    const action = e.action as string | undefined;
    if (e.type === 'step.started' && (action === 'flag.set' || action === 'flag.stage')) {
      const params = e.params as { states?: Flags; stages?: string[]; stage?: number };
      const cohorts = params.states ? Object.keys(params.states) : [params.stages?.[(params.stage ?? 1) - 1] ?? ''];
      for (const c of cohorts) either.add(c);
    }
    const after = (e.evidence as { after?: Flags } | undefined)?.after;
    if (e.type === 'step.finished' && after) {
      Object.assign(expected, after);
      for (const c of Object.keys(after)) either.delete(c);
    }
  }
  const now = sb.dbFlags();
  return Object.keys(ALL_ON)
    .filter((c) => !either.has(c) && now[c] !== expected[c])
    .map((c) => `flag ${c} is ${now[c] ? 'on' : 'off'}, the journal says ${expected[c] ? 'on' : 'off'}`);
}

async function flagsOff(sb: TestSandbox): Promise<string[]> {
  const now = sb.dbFlags();
  return Object.keys(ALL_OFF)
    .filter((c) => now[c] !== false)
    .map((c) => `flag ${c} still on after the run completed`);
}

async function healthOf(sb: TestSandbox): Promise<{ up: boolean; version?: string; status?: string }> {
  try {
    const response = await fetch(`${sb.baseUrl}/health`, { signal: AbortSignal.timeout(3000) });
    const body = (await response.json()) as { version?: string; status?: string };
    return { up: true, version: body.version, status: body.status };
  } catch {
    return { up: false };
  }
}

const SCENARIOS: Scenario[] = [
  {
    name: 'flag --all',
    args: ['flag', '--all', '--yes'],
    prepare: async (sb) => {
      expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'trimp-errors'])).exitCode).toBe(0);
      return {};
    },
    truth: flagTruth,
    rolledBack: flagsOff,
  },
  {
    name: 'gradual',
    args: ['gradual', '--window', '2s', '--interval', '1s', '--yes'],
    traffic: 60,
    prepare: async (sb) => {
      expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'trimp-errors'])).exitCode).toBe(0);
      return {};
    },
    truth: flagTruth,
    rolledBack: flagsOff,
  },
  {
    name: 'application',
    args: ['application', '--yes'],
    prepare: async (sb) => {
      const good = await git(join(sb.dir, 'app'), 'rev-parse', 'HEAD');
      expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy'])).exitCode).toBe(0);
      return { head: good };
    },
    truth: async (sb, events, before) => {
      const { done, inFlight } = stepsOf(events);
      const head = await git(join(sb.dir, 'app'), 'rev-parse', 'HEAD');
      const problems: string[] = [];
      if (!inFlight.has('deploy')) {
        const deployed = done.has('deploy');
        if (deployed && head !== before.head) problems.push(`the journal says deployed, the checkout is at ${head.slice(0, 12)}`);
        if (!deployed && head === before.head) problems.push('the checkout was changed, the journal says no deploy happened');
      }
      const app = await healthOf(sb);
      const changing = ['stop-app', 'start-app'].some((s) => inFlight.has(s));
      if (!changing) {
        const stopped = done.has('stop-app') && !done.has('start-app');
        if (stopped && app.up) problems.push(`the journal says the app is stopped, it answers /health (${app.version})`);
        if (!stopped && !app.up) problems.push('the journal says the app runs, it does not answer /health');
        if (done.has('start-app') && app.version !== '1.1.0') problems.push(`the journal says 1.1.0 was started, ${app.version} runs`);
      }
      return problems;
    },
    rolledBack: async (sb, before) => {
      const head = await git(join(sb.dir, 'app'), 'rev-parse', 'HEAD');
      const app = await healthOf(sb);
      return [
        head === before.head ? '' : `the checkout is at ${head.slice(0, 12)}, not the release before the bad deploy`,
        app.up && app.version === '1.1.0' && app.status === 'healthy' ? '' : `the app is ${JSON.stringify(app)}, not 1.1.0 healthy`,
      ].filter(Boolean);
    },
  },
  {
    name: 'database',
    args: ['database', '--yes'],
    prepare: async (sb) => {
      const created = await cli(['backup', 'create', '--json', '--config', sb.config]);
      expect(created.exitCode, created.stderr).toBe(0);
      expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'corrupt-db'])).exitCode).toBe(0);
      return { sha: jsonOf<{ sha256: string }>(created).sha256 };
    },
    truth: async (sb, events, before) => {
      const { done, inFlight } = stepsOf(events);
      if (inFlight.has('restore')) return [];
      const restored = sha256(sb.database) === before.sha;
      const began = events.some((e) => e.type === 'step.started' && e.step === 'restore');
      if (done.has('restore') && !restored) return ['the journal says restored, the database is not the backup'];
      if (!began && restored) return ['the database is the backup, the journal says no restore began'];
      return [];
    },
    rolledBack: async (sb, before) => {
      const integrity = await execa('sqlite3', [sb.database, 'PRAGMA integrity_check;'], { reject: false });
      const app = await healthOf(sb);
      return [
        sha256(sb.database) === before.sha ? '' : 'the database is not the backup',
        String(integrity.stdout).trim() === 'ok' ? '' : `integrity_check: ${String(integrity.stdout).slice(0, 80)}`,
        app.up && app.status === 'healthy' ? '' : `the app is ${JSON.stringify(app)}`,
      ].filter(Boolean);
    },
  },
];

/** Processes of one case: every descendant of the CLI carries the case's TMPDIR. */
function processesWith(tmp: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TMPDIR=${tmp}`)
          ? [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`]
          : [];
      } catch {
        return [];
      }
    });
}

/** Temporary files a run may make beside the database or in the state directory, left behind. */
function temporaryFiles(sb: TestSandbox): string[] {
  const look = (dir: string) => (existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : []);
  return [...look(sb.dir), ...look(sb.stateDir), ...look(join(sb.dir, 'backups'))].filter((path) =>
    /\.trimp-stage-|\.tmp$|\.partial$|-lock$|lock\.json$|\.trimp-rollback-lock$/.test(path),
  );
}

// The full matrix: both signals for each scenario. CI's sample: one signal each, half of each kind.
const BOTH = process.env.TRIMP_CRASH_SIGNALS === 'both';
const SAMPLE: Record<string, 'SIGKILL' | 'SIGINT'> = {
  'flag --all': 'SIGKILL',
  gradual: 'SIGINT',
  application: 'SIGKILL',
  database: 'SIGINT',
};
const plans: { scenario: Scenario; signal: 'SIGKILL' | 'SIGINT' }[] = SCENARIOS.flatMap((scenario) =>
  (scenario.name === 'database' ? (['SIGINT'] as const) : (['SIGKILL', 'SIGINT'] as const))
    .filter((signal) => BOTH || SAMPLE[scenario.name] === signal)
    .map((signal) => ({ scenario, signal })),
);

/** How long one undisturbed run of each scenario takes here, measured once: the signals fall within it. */
const calibrated = new Map<string, Promise<number>>();
function runLength(scenario: Scenario): Promise<number> {
  if (!calibrated.has(scenario.name))
    calibrated.set(
      scenario.name,
      (async () => {
        const sb = await startTestSandbox('trimp-crash-calibrate-', scenario.traffic ? { traffic: scenario.traffic } : {});
        try {
          const before = await scenario.prepare(sb);
          const started = performance.now();
          const whole = await cli([...scenario.args, '--config', sb.config], { timeoutMs: 120_000 });
          const ms = performance.now() - started;
          expect(whole.exitCode, whole.stdout + whole.stderr).toBe(0);
          expect(await scenario.rolledBack(sb, before)).toEqual([]);
          return ms;
        } finally {
          await sb.remove();
        }
      })(),
    );
  return calibrated.get(scenario.name) as Promise<number>;
}

describe('the crash checks see a world that disagrees with its journal', () => {
  it('a flag turned back on behind a finished run, and a release checked out behind one', async () => {
    const sb = await startTestSandbox('trimp-crash-selfcheck-');
    try {
      const [flag, application] = [SCENARIOS[0] as Scenario, SCENARIOS[2] as Scenario];
      expect((await cli(['flag', '--all', '--yes', '--config', sb.config])).exitCode).toBe(0);
      const events = journalIn(sb.stateDir)?.events ?? [];
      expect(await flag.truth(sb, events, {})).toEqual([]);
      expect((await cli(['flag', '--user-type', 'regular', '--enable', '--yes', '--config', sb.config])).exitCode).toBe(0);
      expect(await flag.truth(sb, events, {})).toEqual(['flag regular is on, the journal says off']);
      expect(await flag.rolledBack(sb, {})).toEqual(['flag regular still on after the run completed']);

      rmSync(join(sb.stateDir, 'runs'), { recursive: true, force: true });
      const before = await application.prepare(sb);
      expect((await cli(['application', '--yes', '--config', sb.config])).exitCode).toBe(0);
      const deployed = journalIn(sb.stateDir)?.events ?? [];
      expect(await application.truth(sb, deployed, before)).toEqual([]);
      await execa('git', ['-C', join(sb.dir, 'app'), 'checkout', '-q', 'HEAD@{1}']);
      expect((await application.truth(sb, deployed, before)).join()).toMatch(/the journal says deployed, the checkout is at/);
      await sb.stop();
      expect((await application.truth(sb, deployed, before)).join()).toMatch(/the journal says the app runs, it does not answer/);
    } finally {
      await sb.remove();
    }
  });
});

describe(`every scenario signalled at random moments (${KILLS} per scenario and signal, seed ${SEED})`, () => {
  for (const { scenario, signal } of plans) {
    it(`${scenario.name}, ${signal}: the world is what the journal says, resume completes, nothing is left`, async () => {
      const next = randomSource(SEED + scenario.name.length * 31 + signal.length);
      const windowMs = await runLength(scenario);

      const failed: string[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        const delay = Math.round(next() * windowMs);
        const where = `${signal} ${kill} at ${delay} ms (seed ${SEED})`;
        const sb = await startTestSandbox('trimp-crash-scenario-', scenario.traffic ? { traffic: scenario.traffic } : {});
        const tmp = mkdtempSync(join(tmpdir(), 'trimp-crash-tmp-'));
        try {
          const before = await scenario.prepare(sb);
          const child = spawnCli([...scenario.args, '--config', sb.config], { env: { TMPDIR: tmp } });
          await Promise.race([sleep(delay), child]);
          child.kill(signal);
          const result = await child;
          const problems: string[] = [];
          const journal = journalIn(sb.stateDir);
          if (signal === 'SIGINT') {
            if (result.signal !== 'SIGINT' && result.exitCode !== 0)
              problems.push(
                `ended by ${result.signal ?? `exit ${result.exitCode}`}, not by SIGINT: ${String(result.stderr).trim().split('\n').at(-1)}`,
              );
            if (existsSync(join(sb.stateDir, 'lock.json')) || existsSync(`${sb.database}.trimp-rollback-lock`))
              problems.push('a lock was left after SIGINT');
            const last = journal?.events.at(-1)?.type;
            if (journal && journal.events.length > 0 && last !== 'run.interrupted' && last !== 'run.finished')
              problems.push(`the journal ends with ${last}, not with the interruption`);
          }
          problems.push(...(await scenario.truth(sb, journal?.events ?? [], before)));

          // What the journal says decides what comes next: nothing (it finished), resume, or a new run.
          const finished = journal?.events.some((e) => e.type === 'run.finished' && e.status === 'succeeded');
          if (!finished) {
            const next = journal?.events.some((e) => e.type === 'run.started')
              ? await cli(['resume', '--yes', '--config', sb.config], { env: { TMPDIR: tmp }, timeoutMs: 120_000 })
              : await cli([...scenario.args, '--config', sb.config], { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
            if (next.exitCode !== 0)
              problems.push(`${journal ? 'resume' : 'a new run'} exited ${next.exitCode}: ${next.stderr.trim().split('\n').at(-1)}`);
          }
          problems.push(...(await scenario.rolledBack(sb, before)));
          problems.push(...temporaryFiles(sb).map((path) => `left behind: ${path}`));
          await sb.stop();
          for (let wait = 0; wait < 30 && processesWith(tmp).length > 0; wait++) await sleep(100);
          problems.push(...processesWith(tmp).map((p) => `process left: ${p}`));
          if (readdirSync(tmp).length > 0) problems.push(`left in TMPDIR: ${readdirSync(tmp).join(', ')}`);
          if (problems.length > 0) failed.push(`${where}: ${problems.join('; ')}`);
        } catch (error) {
          failed.push(`${where}: ${(error as Error).message.split('\n')[0]}`);
        } finally {
          for (const p of processesWith(tmp)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
          await sb.remove();
          rmSync(tmp, { recursive: true, force: true });
        }
      }
      recordCases({ family: 'crash', part: `${scenario.name} (SQLite), ${signal}`, cases: KILLS, held: KILLS - failed.length, failed });
      expect(failed).toEqual([]);
    }, 1_800_000);
  }
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { postgresBinDir } from '../../src/sandbox/postgres-server.js';
import { cli, jsonOf, type RunJson } from '../helpers/cli.js';
import { postgresTests } from '../helpers/postgres.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

/**
 * `sandbox start --engine postgres`: the reference app on a PostgreSQL server of the sandbox's
 * own (a real server, loopback, run as the postgres user), under simulated traffic; the flag
 * scenario through the API and through the database, validation, a game day, and a stop that
 * leaves no server behind. What the database holds is read with psql, not with our code.
 */
const { installed, pgIt } = postgresTests();

let dir: string;
let info: { base_url: string; config: string; database: string };
let password: string;

beforeAll(async () => {
  if (!installed) return;
  dir = mkdtempSync(join(tmpdir(), 'trimp-pgsb-'));
  const started = await cli(['sandbox', 'start', '--dir', dir, '--engine', 'postgres', '--traffic', '40', '--json'], {
    timeoutMs: 120_000,
  });
  expect(started.exitCode, started.stderr).toBe(0);
  info = jsonOf(started);
  execFileSync('sh', ['-c', `printf '%s' "$0" >> "$1"`, RELAXED_HOST, info.config]);
  password = readFileSync(join(dir, 'postgres', 'trimp-password'), 'utf8').trim();
}, 180_000);

afterAll(async () => {
  if (!installed || !dir) return;
  await cli(['sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
});

async function psql(sql: string): Promise<string> {
  const url = new URL(info.database);
  const result = await execa('psql', ['-h', url.hostname, '-p', url.port, '-U', 'trimp', '-d', 'training', '-Atc', sql], {
    env: { PGPASSWORD: password },
  });
  return result.stdout.trim();
}
const flags = () => psql("SELECT string_agg(user_type || '=' || enabled, ',' ORDER BY user_type) FROM feature_flags");

/** The sandbox's PostgreSQL server processes (their command line names its data directory). */
function serverProcesses(): number {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(join(dir, 'postgres', 'data'))).length;
}

describe('the sandbox on PostgreSQL', () => {
  pgIt('serves the app from PostgreSQL: simulated users write activities there, /health reads its tables', async () => {
    expect(info.database).toMatch(/^postgres:\/\/trimp@127\.0\.0\.1:\d+\/training$/);
    expect(readFileSync(info.config, 'utf8')).toContain(`database: ${info.database}`);
    const before = Number(await psql('SELECT count(*) FROM activities'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(Number(await psql('SELECT count(*) FROM activities'))).toBeGreaterThan(before);
    const health = (await (await fetch(`${info.base_url}/health`)).json()) as { status: string; tables: string[] };
    expect(health.status).toBe('healthy');
    expect(health.tables).toContain('activities');
  });

  pgIt('flag --all through the API, back on through the database: each lands in PostgreSQL, and validation passes there', async () => {
    expect(await flags()).toBe('admin=1,beta=1,regular=1');
    const off = await cli(['flag', '--all', '--yes', '--json', '--settle', '5s', '--config', info.config]);
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await flags()).toBe('admin=0,beta=0,regular=0');
    const checks = jsonOf<RunJson>(off).steps.find((s) => s.id === 'validate')?.evidence?.checks as { name: string; status: string }[];
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.find((c) => c.name === 'schema-consistent')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'trimp-stored-values')?.status).toBe('pass');
    expect(checks.find((c) => c.name === 'trimp-app-answer')?.status).toBe('pass');
    const on = await cli(['flag', '--all', '--enable', '--via', 'db', '--yes', '--config', info.config]);
    expect(on.exitCode, on.stderr).toBe(0);
    expect(await flags()).toBe('admin=1,beta=1,regular=1');
    // The app reads the flag from PostgreSQL on every request: the change made there is what it answers.
    const evaluated = (await (
      await fetch(`${info.base_url}/api/admin/feature-flags/enhanced_trimp_calculation/evaluate?user_id=4`, {
        headers: { authorization: `Bearer ${readFileSync(join(dir, 'admin-token'), 'utf8').trim()}` },
      })
    ).json()) as { enabled: boolean };
    expect(evaluated.enabled).toBe(true);
  });

  pgIt("a fault of SQLite's file is refused by name (exit 2); so is the SQLite file's runbook, and the server's on a file", async () => {
    const corrupt = await cli(['sandbox', 'break', 'corrupt-db', '--dir', dir]);
    expect(corrupt.exitCode).toBe(2);
    expect(corrupt.stderr).toMatch(/this sandbox's database is on PostgreSQL/);
    // `database` picks the PostgreSQL runbook; the SQLite one, named, is refused before it plans.
    const fileRunbook = await cli(['run', 'database', '--yes', '--config', info.config]);
    expect(fileRunbook.exitCode).toBe(2);
    expect(fileRunbook.stderr).toMatch(/is a PostgreSQL database; steps keep-current, restore restore or keep a SQLite file/);
    const sqlite = join(dir, 'sqlite.yaml');
    execFileSync('sh', [
      '-c',
      `sed -e 's#database: postgres.*#database: ./training_data.db#' -e '/database_password_file/d' "$0" > "$1"`,
      info.config,
      sqlite,
    ]);
    const serverRunbook = await cli(['run', 'database-postgres', '--yes', '--config', sqlite]);
    expect(serverRunbook.exitCode).toBe(2);
    expect(serverRunbook.stderr).toMatch(/is a SQLite file; steps stage, swap-ready, swap restore into and rename PostgreSQL databases/);
    for (const r of [corrupt, fileRunbook, serverRunbook]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  pgIt('stop takes the PostgreSQL server down with the app; start brings both back on the same port, the data kept', async () => {
    expect(serverProcesses()).toBeGreaterThan(0);
    const stopped = await cli(['sandbox', 'stop', '--dir', dir]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(serverProcesses()).toBe(0);
    const again = await cli(['sandbox', 'start', '--dir', dir, '--traffic', '40', '--json'], { timeoutMs: 60_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(jsonOf<{ database: string }>(again).database).toBe(info.database);
    info = { ...info, ...jsonOf(again) };
    expect(await flags()).toBe('admin=1,beta=1,regular=1');
  });
});

describe('when the PostgreSQL side goes wrong', () => {
  pgIt(
    'the database down under traffic: user-errors fails on the total (errors no user type can be tied to); advise reads amcheck',
    async () => {
      const advised = await cli(['advise', '--from-metrics', '--json', '--config', info.config]);
      expect(advised.exitCode, advised.stderr).toBe(0);
      expect(advised.stdout).toMatch(/database \(PostgreSQL\) \d+ B-tree indexes checked: ok/);
      const data = join(dir, 'postgres', 'data');
      execFileSync('runuser', ['-u', 'postgres', '--', join(postgresBinDir(), 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], {
        stdio: 'ignore',
      });
      try {
        // A fault change while the database is down must not end the app (it once did: the
        // instance read the flags at every change, and the rejection went unhandled).
        writeFileSync(join(dir, 'faults.json'), `${JSON.stringify({ db_generation: 0 })}\n`);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const result = await cli(['validate', '--checks', 'user-errors', '--json', '--config', info.config]);
        expect(result.exitCode).toBe(1);
        const check = jsonOf<{ checks: { status: string; summary: string }[] }>(result).checks[0];
        expect(check?.status).toBe('fail');
        expect(check?.summary).toMatch(/too many errors for all users \(errors not tied to a user type\)/);
      } finally {
        // A stale postmaster.pid is left by the kill: stop says "stopped already", start starts it.
        const stopped = await cli(['sandbox', 'stop', '--dir', dir]);
        expect(stopped.exitCode, stopped.stderr).toBe(0);
        const again = await cli(['sandbox', 'start', '--dir', dir, '--traffic', '40', '--json'], { timeoutMs: 60_000 });
        expect(again.exitCode, again.stderr).toBe(0);
        info = { ...info, ...jsonOf(again) };
      }
      const health = (await (await fetch(`${info.base_url}/health`)).json()) as { status: string };
      expect(health.status).toBe('healthy');
    },
  );

  pgIt("the server's environment holds no secret of the operator's", async () => {
    await cli(['sandbox', 'stop', '--dir', dir]);
    const started = await cli(['sandbox', 'start', '--dir', dir, '--traffic', '40', '--json'], {
      env: { PGPASSWORD: 'operator-pg-secret', TRIMP_ADMIN_TOKEN: 'operator-token-secret' },
      timeoutMs: 60_000,
    });
    expect(started.exitCode, started.stderr).toBe(0);
    info = { ...info, ...jsonOf(started) };
    const pid = readFileSync(join(dir, 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0] as string;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(environ).not.toMatch(/operator-pg-secret|operator-token-secret|TRIMP_ADMIN_TOKEN|PGPASSWORD/);
  });

  pgIt('unusable settings are one line each (exit 2): a query string in the URL, no password anywhere', async () => {
    const url = info.database;
    const query = await cli([
      'flag',
      '--all',
      '--via',
      'db',
      '--yes',
      '--config',
      info.config,
      '--database',
      `${url}?password=s3cret-in-query`,
    ]);
    expect(query.exitCode).toBe(2);
    expect(query.stderr).toMatch(/has a query string: settings there \(a password among them\) are not read/);
    expect(query.stderr).not.toContain('s3cret-in-query');
    const bare = join(dir, 'no-password.yaml');
    execFileSync('sh', ['-c', `grep -v database_password_file "$0" > "$1"`, info.config, bare]);
    const none = await cli(['flag', '--all', '--via', 'db', '--yes', '--config', bare], { env: { HOME: dir } });
    expect(none.exitCode).toBe(2);
    expect(none.stderr.trim()).toMatch(
      /^trimp-rollback: no password for PostgreSQL at trimp@127\.0\.0\.1:\d+\/training: none in target\.database_password_file, PGPASSWORD or ~\/\.pgpass/,
    );
    for (const r of [query, none]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('a PostgreSQL sandbox that could not be set up', () => {
  pgIt(
    'a path with shell characters is refused; a set-up cut short is done again on the next start, and stop leaves no server',
    async () => {
      const odd = await cli(['sandbox', 'start', '--dir', join(tmpdir(), 'trimp-pg-$(touch x)'), '--engine', 'postgres']);
      expect(odd.exitCode).toBe(2);
      expect(odd.stderr).toMatch(/cannot live in a directory whose path holds \$/);
      expect(existsSync(join(tmpdir(), 'trimp-pg-$(touch x)'))).toBe(false);
      if (process.getuid?.() === 0) {
        // As root the server runs as postgres, which must pass through every directory above it.
        const closed = mkdtempSync(join(tmpdir(), 'trimp-pgclosed-'));
        try {
          const refused = await cli(['sandbox', 'start', '--dir', join(closed, 'sb'), '--engine', 'postgres']);
          expect(refused.exitCode).toBe(2);
          expect(refused.stderr).toMatch(new RegExp(`cannot pass through ${closed} \\(mode 700\\) — give it search rights \\(chmod o\\+x`));
        } finally {
          await cli(['sandbox', 'stop', '--dir', join(closed, 'sb')]);
          rmSync(closed, { recursive: true, force: true });
        }
      }
      const cut = mkdtempSync(join(tmpdir(), 'trimp-pgcut-'));
      try {
        const first = await cli(['sandbox', 'start', '--dir', cut, '--engine', 'postgres', '--json'], { timeoutMs: 120_000 });
        expect(first.exitCode, first.stderr).toBe(0);
        await cli(['sandbox', 'stop', '--dir', cut]);
        // As if killed between the server's start and the end of the set-up: engine.json never written.
        rmSync(join(cut, 'engine.json'));
        const again = await cli(['sandbox', 'start', '--dir', cut, '--engine', 'postgres', '--json'], { timeoutMs: 120_000 });
        expect(again.exitCode, again.stderr).toBe(0);
        const health = (await (await fetch(`${jsonOf<{ base_url: string }>(again).base_url}/health`)).json()) as { status: string };
        expect(health.status).toBe('healthy');
      } finally {
        await cli(['sandbox', 'stop', '--dir', cut]);
        const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => l.includes(join(cut, 'postgres')));
        rmSync(cut, { recursive: true, force: true });
        expect(left).toEqual([]);
      }
    },
    240_000,
  );
});

describe('game days on PostgreSQL with two instances', () => {
  pgIt(
    'rehearse --all --engine postgres --instances 2: every scenario passes on its own proof, and no server is left running',
    async () => {
      const result = await cli(['rehearse', '--all', '--engine', 'postgres', '--instances', '2', '--json'], { timeoutMs: 400_000 });
      expect(result.exitCode, result.stderr.split('\n').slice(-30).join('\n')).toBe(0);
      const rows = jsonOf<{
        scenarios: {
          scenario: string;
          fault: string;
          status: string;
          symptom_before: string;
          scenario_proof: string | null;
          run: { steps: { id: string; action: string; summary: string }[] };
        }[];
      }>(result).scenarios;
      expect(rows.map((r) => [r.scenario, r.fault, r.status])).toEqual([
        ['flag', 'trimp-errors', 'passed'],
        ['gradual-regular', 'trimp-errors', 'passed'],
        ['gradual-every-cohort', 'trimp-errors', 'passed'],
        ['application', 'bad-deploy', 'passed'],
        ['database', 'bad-migration', 'passed'],
      ]);
      const database = rows.find((r) => r.scenario === 'database');
      // The symptom was in the data (found before the run), and the restore's proof names the migration's rows.
      expect(database?.symptom_before).toMatch(/^(\d+) of \1 activities hold a TRIMP value a bad migration multiplied by 60$/);
      expect(database?.scenario_proof).toMatch(
        /^amcheck \(indexes and heaps\) ok, \/health healthy, all \d+ activities from before the backup present, and none of the \d+ damaged activities the backup held is still wrong$/,
      );
      // Every instance was asked: each run's health step names both (or says all 2 when they answered alike).
      // (A gradual run that recovered at a stage ends there: it has no health step.)
      for (const row of rows.filter((r) => ['flag', 'application', 'database'].includes(r.scenario))) {
        const health = row.run.steps.find((s) => s.action === 'app.health');
        expect(health?.summary, row.scenario).toMatch(/^(all 2 instances: healthy|instance 1: healthy .*; instance 2: healthy)/);
      }
      const restarted = rows.find((r) => r.scenario === 'application')?.run.steps.find((s) => s.id === 'start-app');
      expect(restarted?.summary).toMatch(/^instance 1 pid \d+ healthy .*; instance 2 pid \d+ healthy /);
      const leftover = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        // This run's sandboxes only: their PostgreSQL servers and their app instances (started with
        // --instance); the SQLite game-day test may be running its own sandboxes meanwhile.
        .filter((line) => line.includes('trimp-gameday-') && (line.includes('postgres') || line.includes('--instance')));
      expect(leftover).toEqual([]);
    },
    420_000,
  );
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBinDir } from '../../src/sandbox/postgres-server.js';
import { cli, jsonOf, type RunJson } from '../helpers/cli.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

/**
 * `sandbox start --engine postgres`: the reference app on a PostgreSQL server of the sandbox's
 * own (a real server, loopback, run as the postgres user), under simulated traffic; the flag
 * scenario through the API and through the database, validation, a game day, and a stop that
 * leaves no server behind. What the database holds is read with psql, not with our code.
 */
const required = process.env.TRIMP_REQUIRE_POSTGRES === '1';
let installed = true;
try {
  postgresBinDir();
} catch {
  installed = false;
}
if (required && !installed) throw new Error("the PostgreSQL server is missing: .ci/run installs Debian's postgresql");
const pgIt = installed ? it : it.skip;

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

  pgIt('a data fault that is SQLite-only is refused by name (exit 2); the database scenario too', async () => {
    const corrupt = await cli(['sandbox', 'break', 'corrupt-db', '--dir', dir]);
    expect(corrupt.exitCode).toBe(2);
    expect(corrupt.stderr).toMatch(/this sandbox's database is on PostgreSQL/);
    const restore = await cli(['database', '--yes', '--config', info.config]);
    expect(restore.exitCode).toBe(2);
    expect(restore.stderr).toMatch(/is a PostgreSQL database; steps .*choose-backup.* back up, restore or read a SQLite file/);
  });

  pgIt('stop takes the PostgreSQL server down with the app; start brings both back on the same port, the data kept', async () => {
    expect(serverProcesses()).toBeGreaterThan(0);
    const stopped = await cli(['sandbox', 'stop', '--dir', dir]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(serverProcesses()).toBe(0);
    const again = await cli(['sandbox', 'start', '--dir', dir, '--json'], { timeoutMs: 60_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(jsonOf<{ database: string }>(again).database).toBe(info.database);
    info = { ...info, ...jsonOf(again) };
    expect(await flags()).toBe('admin=1,beta=1,regular=1');
  });
});

describe('a game day on PostgreSQL', () => {
  pgIt(
    'rehearse flag --engine postgres passes, and leaves no server running',
    async () => {
      const result = await cli(['rehearse', 'flag', '--engine', 'postgres', '--json'], { timeoutMs: 120_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      const rows = jsonOf<{ scenarios: { scenario: string; status: string; proof: string }[] }>(result).scenarios;
      expect(rows.map((r) => [r.scenario, r.status])).toEqual([['flag', 'passed']]);
      const leftover = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes('trimp-gameday-flag-') && line.includes('postgres'));
      expect(leftover).toEqual([]);
    },
    150_000,
  );
});

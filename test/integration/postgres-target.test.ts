import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type AppDatabase, createAppDatabase } from '../../src/sandbox/postgres-load.js';
import { type PostgresServer, startPostgresServer, stopPostgresServer, superuserPassword } from '../../src/sandbox/postgres-server.js';
import { connectionOf } from '../../src/target/postgres.js';
import { cli, jsonOf, type RunJson } from '../helpers/cli.js';
import { postgresTests } from '../helpers/postgres.js';

/**
 * A real PostgreSQL 15 server of the test's own (initdb in a temporary directory, loopback, run
 * as the unprivileged postgres user when the test runs as root), holding the sandbox's data: the
 * flag scenario through the database and the validation checks on it, and the three ways a
 * PostgreSQL target goes wrong, each one line. Flag states are read back with psql, not our code.
 */
const { installed, pgIt } = postgresTests();

let dir: string;
let server: PostgresServer;
let app: AppDatabase;
let password: string;
let config: string;

beforeAll(async () => {
  if (!installed) return;
  dir = mkdtempSync(join(tmpdir(), 'trimp-pg-'));
  const seeded = await cli(['sandbox', 'seed', '--dir', dir, '--activities', '2000']);
  expect(seeded.exitCode, seeded.stderr).toBe(0);
  server = await startPostgresServer(dir);
  app = await createAppDatabase(server, { sqliteSource: join(dir, 'training_data.db') });
  password = readFileSync(app.passwordFile, 'utf8').trim();
  config = join(dir, 'pg.yaml');
  // No app in front of this database: the flag goes through the database, the app is optional.
  writeFileSync(
    config,
    [
      `state_dir: ${join(dir, 'state')}`,
      'target:',
      '  base_url: http://127.0.0.1:9',
      `  database: ${app.url}`,
      `  database_password_file: ${app.passwordFile}`,
      '  auth: none',
      'validation: { load_per_core_max: 10000, disk_free_min_bytes: 0, memory_free_min_bytes: 0 }',
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  if (!installed || !dir) return;
  await stopPostgresServer(dir);
  rmSync(dir, { recursive: true, force: true });
});

/** The flag per user type, as psql reads it. */
async function psqlFlags(): Promise<Record<string, number>> {
  const { port } = server;
  const result = await execa(
    'psql',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'trimp',
      '-d',
      'training',
      '-Atc',
      "SELECT user_type || '=' || enabled FROM feature_flags WHERE name = 'enhanced_trimp_calculation' ORDER BY 1",
    ],
    { env: { PGPASSWORD: password } },
  );
  return Object.fromEntries(result.stdout.split('\n').map((line) => [line.split('=')[0], Number(line.split('=')[1])]));
}

async function asSuperuser(database: string, sql: string): Promise<void> {
  const client = new pg.Client({ ...connectionOf(server.url('postgres', database)), password: superuserPassword(server) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('a PostgreSQL target', () => {
  pgIt('flag --all --via db turns the flag off in PostgreSQL, verifies it, validates, and its undo puts it back', async () => {
    expect(await psqlFlags()).toEqual({ admin: 1, beta: 1, regular: 1 });
    const result = await cli(['flag', '--all', '--via', 'db', '--yes', '--json', '--config', config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(await psqlFlags()).toEqual({ admin: 0, beta: 0, regular: 0 });
    expect(run.steps.find((s) => s.id === 'set-flag')?.summary).toBe(
      'admin: enabled → disabled; beta: enabled → disabled; regular: enabled → disabled',
    );
    expect(run.steps.find((s) => s.id === 'baseline')?.summary).toMatch(
      /^activities 2000, hr_streams \d+, user_settings \d+, feature_flags 3; newest activity /,
    );
    const checks = run.steps.find((s) => s.id === 'validate')?.evidence?.checks as { name: string; status: string; summary: string }[];
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    // The data checks answer from PostgreSQL itself: its catalog and amcheck.
    expect(byName['schema-consistent']?.status).toBe('pass');
    expect(byName['historical-data']?.status).toBe('pass');
    expect(byName['trimp-stored-values']).toMatchObject({ status: 'pass' });
    // The password appears nowhere: output, journal, reports.
    const dirOf = join(dir, 'state', 'runs', run.run_id);
    for (const text of [result.stdout, result.stderr, ...readdirSync(dirOf).map((f) => readFileSync(join(dirOf, f), 'utf8'))])
      expect(text).not.toContain(password);
    // Counts arrive as numbers (PostgreSQL's bigint is text to the driver): the baseline is one a later validate can use.
    const later = await cli(['validate', '--checks', 'schema-consistent,historical-data', '--json', '--config', config]);
    expect(later.exitCode, later.stderr).toBe(0);
    expect(jsonOf<{ checks: { name: string; status: string }[] }>(later).checks.map((c) => [c.name, c.status])).toEqual([
      ['schema-consistent', 'pass'],
      ['historical-data', 'pass'],
    ]);
    expect(run.undo_command).toBe(`trimp-rollback flag restore --run ${run.run_id} --config ${config} --via db --yes`);
    const undo = await cli(['flag', 'restore', '--run', run.run_id, '--via', 'db', '--yes', '--config', config]);
    expect(undo.exitCode, undo.stderr).toBe(0);
    expect(await psqlFlags()).toEqual({ admin: 1, beta: 1, regular: 1 });
  });

  pgIt(
    'validate: the database check lists its tables, no-corruption runs amcheck, and without amcheck it says so (skip, never pass)',
    async () => {
      const checks = ['database', 'no-corruption'];
      const result = await cli(['validate', '--checks', checks.join(','), '--json', '--config', config]);
      expect(result.exitCode, result.stderr).toBe(0);
      const found = jsonOf<{ checks: { name: string; status: string; summary: string }[] }>(result).checks;
      expect(found.find((c) => c.name === 'database')).toMatchObject({ status: 'pass' });
      expect(found.find((c) => c.name === 'no-corruption')?.summary).toMatch(/^\d+ B-tree indexes checked: ok$/);
      await asSuperuser('training', 'DROP EXTENSION amcheck');
      try {
        const without = await cli(['validate', '--checks', 'no-corruption', '--json', '--config', config]);
        expect(without.exitCode, without.stderr).toBe(0);
        expect(jsonOf<{ checks: { status: string; summary: string }[] }>(without).checks[0]).toMatchObject({
          status: 'skip',
          summary: expect.stringMatching(/amcheck extension is not installed/),
        });
      } finally {
        await asSuperuser('training', 'CREATE EXTENSION amcheck');
        await asSuperuser('training', 'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO trimp');
      }
    },
  );

  pgIt(
    'a row held by another session: the change fails at that type, the summary names what was already set, and the journaled states put it back',
    async () => {
      const holder = new pg.Client({ ...connectionOf(app.url), password });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query("SELECT * FROM feature_flags WHERE user_type = 'regular' FOR UPDATE");
        const result = await cli(['flag', '--all', '--via', 'db', '--yes', '--json', '--config', config], { timeoutMs: 90_000 });
        expect(result.exitCode).toBe(1);
        const run = jsonOf<RunJson>(result);
        const set = run.steps.find((s) => s.id === 'set-flag');
        expect(set?.status).toBe('failed');
        expect(set?.summary).toMatch(
          /^setting regular failed: PostgreSQL at \S+: a statement ran past 15 s and was cancelled \(admin=disabled, beta=disabled already set; flag restore --run puts back the states journaled before\)$/,
        );
        expect(await psqlFlags()).toEqual({ admin: 0, beta: 0, regular: 1 });
        await holder.query('ROLLBACK');
        const restored = await cli(['flag', 'restore', '--run', run.run_id, '--via', 'db', '--yes', '--config', config]);
        expect(restored.exitCode, restored.stderr).toBe(0);
        expect(await psqlFlags()).toEqual({ admin: 1, beta: 1, regular: 1 });
      } finally {
        await holder.end();
      }
    },
    120_000,
  );

  pgIt('a wrong password, an unreachable server, a missing table, a password in the URL: one line each, before any run', async () => {
    const runs = () => (existsSync(join(dir, 'state', 'runs')) ? readdirSync(join(dir, 'state', 'runs')).length : 0);
    const before = runs();
    const wrong = await cli(['flag', '--all', '--via', 'db', '--yes', '--config', config, '--database', app.url], {
      env: { PGPASSWORD: 'not-the-password' },
    });
    // PGPASSWORD wins over the config's password file (the environment before the config file, as
    // for every setting): a wrong one is one line, before any run.
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr.trim()).toMatch(/^trimp-rollback: PostgreSQL at .* refused the login: password authentication failed/);
    const bare = join(dir, 'bare.yaml');
    writeFileSync(bare, readFileSync(config, 'utf8').replace(/ {2}database_password_file: .*\n/, ''));
    const denied = await cli(['flag', '--all', '--via', 'db', '--yes', '--config', bare], {
      env: { PGPASSWORD: 'not-the-password', HOME: dir },
    });
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr.trim()).toBe(
      `trimp-rollback: PostgreSQL at trimp@127.0.0.1:${server.port}/training refused the login: password authentication failed for user "trimp" — check the password in PGPASSWORD, target.database_password_file or ~/.pgpass (never in the URL)`,
    );
    const down = await cli(
      ['flag', '--all', '--via', 'db', '--yes', '--config', bare, '--database', 'postgres://trimp@127.0.0.1:9/training'],
      {
        env: { PGPASSWORD: password, HOME: dir },
      },
    );
    expect(down.exitCode).toBe(1);
    expect(down.stderr.trim()).toBe(
      'trimp-rollback: PostgreSQL at trimp@127.0.0.1:9/training cannot be reached (ECONNREFUSED) — check that the server runs and target.database names its host and port',
    );
    await asSuperuser('postgres', 'CREATE DATABASE empty OWNER trimp');
    const empty = await cli(['flag', '--all', '--via', 'db', '--yes', '--config', bare, '--database', server.url('trimp', 'empty')], {
      env: { PGPASSWORD: password, HOME: dir },
    });
    expect(empty.exitCode).toBe(1);
    expect(empty.stderr.trim()).toBe(
      `trimp-rollback: PostgreSQL at trimp@127.0.0.1:${server.port}/empty has no table activities, user_settings, feature_flags, hr_streams — check that target.database names the TRIMP app's database`,
    );
    const inUrl = await cli([
      'flag',
      '--all',
      '--via',
      'db',
      '--yes',
      '--config',
      bare,
      '--database',
      `postgres://trimp:${password}@127.0.0.1:${server.port}/training`,
    ]);
    expect(inUrl.exitCode).toBe(2);
    expect(inUrl.stderr).toMatch(/holds a password: it would show in commands, journals and process lists/);
    // A file-only scenario is refused by name, before anything runs.
    const restore = await cli(['run', 'database', '--yes', '--config', config]);
    expect(restore.exitCode).toBe(2);
    for (const r of [denied, down, empty, inUrl, restore]) {
      expect(r.stderr).not.toContain(password);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // None of them left a run behind.
    expect(runs()).toBe(before);
    await cli(['flag', '--all', '--enable', '--via', 'db', '--yes', '--config', config]);
  });
});

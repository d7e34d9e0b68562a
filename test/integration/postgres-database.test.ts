import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { cli, jsonOf, ROOT, type RunJson } from '../helpers/cli.js';
import { postgresTests } from '../helpers/postgres.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

/**
 * Backups and the database rollback on a PostgreSQL sandbox with two app instances under live
 * traffic. What the server holds is read with psql as the server's superuser (not our code), and
 * row counts are compared with what psql counted when the backup was taken.
 */
const { installed, pgIt } = postgresTests();

let dir: string;
let info: { base_url: string; instances: string[]; config: string; database: string };
let port: string;

beforeAll(async () => {
  if (!installed) return;
  dir = mkdtempSync(join(tmpdir(), 'trimp-pgdb-'));
  const started = await cli(['sandbox', 'start', '--dir', dir, '--engine', 'postgres', '--instances', '2', '--traffic', '30', '--json'], {
    timeoutMs: 120_000,
  });
  expect(started.exitCode, started.stderr).toBe(0);
  info = jsonOf(started);
  execFileSync('sh', ['-c', `printf '%s' "$0" >> "$1"`, RELAXED_HOST, info.config]);
  port = new URL(info.database).port;
}, 180_000);

afterAll(async () => {
  if (!installed || !dir) return;
  await cli(['sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** psql as the sandbox server's superuser, on the given database. */
async function psql(database: string, sql: string): Promise<string> {
  const password = readFileSync(join(dir, 'postgres', 'superuser-password'), 'utf8').trim();
  const result = await execa('psql', ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', database, '-Atc', sql], {
    env: { PGPASSWORD: password },
  });
  return result.stdout.trim();
}
const databases = async () => (await psql('postgres', 'SELECT datname FROM pg_database ORDER BY 1')).split('\n');

describe('PostgreSQL backups', () => {
  pgIt('backup create takes a pg_dump archive whose manifest counts what psql counts in it; verify and --thorough pass', async () => {
    const created = await cli(['backup', 'create', '--label', 'pg-test', '--json', '--config', info.config]);
    expect(created.exitCode, created.stderr).toBe(0);
    const manifest = jsonOf<{ id: string; file: string; engine: string; row_counts: Record<string, number>; max_activity_id: number }>(
      created,
    );
    expect(manifest.engine).toBe('postgres');
    expect(manifest.file).toBe(`${manifest.id}.dump`);
    // Restored by pg_restore itself into a database of ours: the counts are the archive's, read by psql.
    const check = `pgcheck_${process.pid}`;
    await psql('postgres', `CREATE DATABASE ${check}`);
    try {
      const password = readFileSync(join(dir, 'postgres', 'superuser-password'), 'utf8').trim();
      await execa(
        'pg_restore',
        ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', check, '--no-owner', join(dir, 'backups', manifest.file)],
        {
          env: { PGPASSWORD: password },
          reject: false,
        },
      );
      for (const table of ['activities', 'hr_streams', 'user_settings', 'feature_flags'])
        expect(Number(await psql(check, `SELECT COUNT(*) FROM ${table}`)), table).toBe(manifest.row_counts[table]);
      expect(Number(await psql(check, 'SELECT MAX(activity_id) FROM activities'))).toBe(manifest.max_activity_id);
    } finally {
      await psql('postgres', `DROP DATABASE ${check}`);
    }
    expect(
      readFileSync(join(dir, 'backups', manifest.file))
        .subarray(0, 5)
        .toString(),
    ).toBe('PGDMP'); // pg_dump's custom format

    const quick = await cli(['backup', 'verify', manifest.id, '--config', info.config]);
    expect(quick.exitCode, quick.stdout).toBe(0);
    expect(quick.stdout).toMatch(/✔ pg_restore --list: \d+ entries, data for activities, feature_flags, hr_streams/);
    const before = await databases();
    const thorough = await cli(['backup', 'verify', manifest.id, '--thorough', '--config', info.config]);
    expect(thorough.exitCode, thorough.stdout).toBe(0);
    expect(thorough.stdout).toMatch(
      /✔ scratch restore: restored into training_verify_\S+: rows, newest activity and schema match the manifest/,
    );
    expect(await databases()).toEqual(before); // the scratch database is gone again
  });

  pgIt('a damaged archive does not verify (exit 1); one whose manifest was rewritten to match fails pg_restore --list', async () => {
    const created = await cli(['backup', 'create', '--label', 'damaged', '--json', '--config', info.config]);
    expect(created.exitCode, created.stderr).toBe(0);
    const { id, file } = jsonOf<{ id: string; file: string }>(created);
    const path = join(dir, 'backups', file);
    const bytes = readFileSync(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0xff;
    writeFileSync(path, bytes);
    const flipped = await cli(['backup', 'verify', id, '--config', info.config]);
    expect(flipped.exitCode).toBe(1);
    expect(flipped.stdout).toMatch(/✘ sha256: SHA-256 [0-9a-f]{16}…, the manifest says [0-9a-f]{16}…: the file changed since it was taken/);
    expect(flipped.stdout).toMatch(/does NOT verify: do not restore it$/m);

    // The same flipped byte (in a data block, past the contents), with the manifest made to agree:
    // the contents list reads, the data does not.
    const manifestPath = join(dir, 'backups', `${id}.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { size: number; sha256: string };
    const agree = () => {
      const sha = execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0] as string;
      writeFileSync(manifestPath, JSON.stringify({ ...manifest, size: readFileSync(path).length, sha256: sha }));
    };
    agree();
    const altered = await cli(['backup', 'verify', id, '--config', info.config]);
    expect(altered.exitCode).toBe(1);
    expect(altered.stdout).toMatch(/✔ pg_restore --list: /);
    expect(altered.stdout).toMatch(/✘ archive read: pg_restore failed reading \S+\.dump \(exit 1\)/);

    // Truncated within its contents, the manifest made to agree with it: the list itself fails.
    writeFileSync(path, bytes.subarray(0, 200));
    agree();
    const truncated = await cli(['backup', 'verify', id, '--config', info.config]);
    expect(truncated.exitCode).toBe(1);
    expect(truncated.stdout).toMatch(/✔ sha256: matches/);
    expect(truncated.stdout).toMatch(/✘ pg_restore --list: pg_restore failed reading \S+\.dump \(exit 1\)/);
    rmSync(path);
    rmSync(manifestPath);
  });
});

describe('the database rollback on PostgreSQL', () => {
  pgIt(
    'restores a bad migration away by swapping a restored database in; undo swaps the kept one back',
    async () => {
      const created = await cli(['backup', 'create', '--label', 'before-migration', '--json', '--config', info.config]);
      expect(created.exitCode, created.stderr).toBe(0);
      const backup = jsonOf<{ id: string; row_counts: Record<string, number>; max_activity_id: number }>(created);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // users write more after the backup
      const broke = await cli(['sandbox', 'break', 'bad-migration', '--dir', dir]);
      expect(broke.exitCode, broke.stderr).toBe(0);
      const damaged = (
        JSON.parse(readFileSync(join(dir, 'faults.json'), 'utf8')) as {
          'bad-migration': { rows: { activity_id: number; trimp: number }[] };
        }
      )['bad-migration'].rows;
      expect(damaged.length).toBeGreaterThan(10);
      const sample = damaged[damaged.length - 1] as { activity_id: number; trimp: number }; // the oldest: in the backup
      expect(sample.activity_id).toBeLessThanOrEqual(backup.max_activity_id);
      expect(Number(await psql('training', `SELECT trimp FROM activities WHERE activity_id = ${sample.activity_id}`))).toBeCloseTo(
        sample.trimp * 60,
        6,
      );
      // The symptom, as validation sees it: stored values no longer match their heart rates.
      const symptom = await cli(['validate', '--checks', 'trimp-stored-values', '--config', info.config]);
      expect(symptom.exitCode).toBe(1);

      const run = await cli(['database', '--backup', backup.id, '--yes', '--json', '--settle', '5s', '--config', info.config], {
        timeoutMs: 120_000,
      });
      expect(run.exitCode, run.stderr.split('\n').slice(-20).join('\n')).toBe(0);
      const result = jsonOf<RunJson>(run);
      expect(result.steps.map((s) => [s.id, s.status])).toEqual([
        ['baseline', 'succeeded'],
        ['choose-backup', 'succeeded'],
        ['verify-backup', 'succeeded'],
        ['preflight', 'succeeded'],
        ['draft-notice', 'succeeded'],
        ['notify-users', 'succeeded'],
        ['stage', 'succeeded'],
        ['swap-ready', 'succeeded'],
        ['stop-app', 'succeeded'],
        ['swap', 'succeeded'],
        ['check-restored', 'succeeded'],
        ['start-app', 'succeeded'],
        ['health', 'succeeded'],
        ['validate', 'succeeded'],
      ]);
      const kept = String((result.steps.find((s) => s.id === 'swap')?.evidence as { kept?: string } | undefined)?.kept);
      expect(kept).toMatch(/^training_before_\d{8}t\d{6}_[0-9a-f]{4}$/);
      // From outside: the app's name holds the backup (every row it had, the damaged value as it was), the old one is kept as it was.
      expect(await databases()).toEqual(expect.arrayContaining(['training', kept]));
      expect(Number(await psql('training', `SELECT COUNT(*) FROM activities WHERE activity_id <= ${backup.max_activity_id}`))).toBe(
        backup.row_counts.activities,
      );
      expect(Number(await psql('training', `SELECT trimp FROM activities WHERE activity_id = ${sample.activity_id}`))).toBe(sample.trimp);
      expect(Number(await psql(kept, `SELECT trimp FROM activities WHERE activity_id = ${sample.activity_id}`))).toBeCloseTo(
        sample.trimp * 60,
        6,
      );
      expect((await databases()).filter((d) => d.includes('_restore_'))).toEqual([]);
      // Both instances serve again, from the restored database.
      for (const url of info.instances) expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(result.undo_command).toMatch(/^trimp-rollback database undo --run \S+ --config \S+ --yes$/);
      // validate, on its own, against PostgreSQL and both instances: every check passes.
      const validated = await cli(['validate', '--json', '--settle', '5s', '--config', info.config]);
      expect(validated.exitCode, validated.stdout).toBe(0);
      const checks = jsonOf<{ checks: { name: string; status: string; evidence?: { instances?: Record<string, unknown> } }[] }>(
        validated,
      ).checks;
      expect(checks.filter((c) => c.status !== 'pass').map((c) => c.name)).toEqual([]);
      expect(Object.keys(checks.find((c) => c.name === 'trimp-app-answer')?.evidence?.instances ?? {})).toEqual(info.instances);

      const undo = await cli(['database', 'undo', '--run', result.run_id, '--yes', '--json', '--config', info.config], {
        timeoutMs: 120_000,
      });
      // The undo brings the migration's damage back with the old database, and validation says so: exit 1.
      expect(undo.exitCode, undo.stderr.split('\n').slice(-20).join('\n')).toBe(1);
      const undone = jsonOf<RunJson>(undo).steps;
      expect(undone.find((s) => s.id === 'swap')?.status).toBe('succeeded');
      expect(undone.find((s) => s.id === 'validate')?.summary).toMatch(
        /trimp-stored-values: \d+ of \d+ recent activities do not recompute/,
      );
      expect(Number(await psql('training', `SELECT trimp FROM activities WHERE activity_id = ${sample.activity_id}`))).toBeCloseTo(
        sample.trimp * 60,
        6,
      );
      expect(await databases()).not.toContain(kept); // it is the app's database again
      expect((await databases()).filter((d) => d.startsWith('training_before_'))).toHaveLength(1); // the restored one, kept in turn
      const healed = await cli(['sandbox', 'heal', 'bad-migration', '--dir', dir]);
      expect(healed.exitCode, healed.stderr).toBe(0);
      expect(Number(await psql('training', `SELECT trimp FROM activities WHERE activity_id = ${sample.activity_id}`))).toBe(sample.trimp);
    },
    240_000,
  );

  pgIt("the database's own settings and access rules come along with the swap; `run database-postgres` prints its Undo", async () => {
    await psql('postgres', "ALTER DATABASE training SET work_mem = '7MB'");
    await psql('postgres', 'REVOKE CONNECT ON DATABASE training FROM PUBLIC');
    await psql('postgres', 'GRANT CONNECT ON DATABASE training TO trimp');
    const acl = await psql('postgres', "SELECT datacl::text FROM pg_database WHERE datname = 'training'");
    try {
      const run = await cli(['run', 'database-postgres', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
      expect(run.exitCode, run.stderr.split('\n').slice(-20).join('\n')).toBe(0);
      const result = jsonOf<RunJson>(run);
      expect(result.steps.find((s) => s.id === 'swap')?.summary).toMatch(
        /; carried over: work_mem=7MB, \d+ database privilege grant\(s\)$/,
      );
      expect(result.undo_command).toMatch(/^trimp-rollback database undo --run /);
      // From outside: the database now under the name has the same rules and setting.
      const rules = (text: string) =>
        text
          .replace(/^\{|\}$/g, '')
          .split(',')
          .sort();
      expect(rules(await psql('postgres', "SELECT datacl::text FROM pg_database WHERE datname = 'training'"))).toEqual(rules(acl));
      expect(
        await psql(
          'postgres',
          "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'training'",
        ),
      ).toBe('work_mem=7MB');
    } finally {
      await psql('postgres', 'ALTER DATABASE training RESET work_mem');
      await psql('postgres', 'GRANT CONNECT ON DATABASE training TO PUBLIC');
    }
  });

  pgIt('what would stop the swap is found before the app stops: a session this role cannot end, a database it does not own', async () => {
    const before = await databases();
    // A superuser's session on the app's database, which the app's role may not end.
    const password = readFileSync(join(dir, 'postgres', 'superuser-password'), 'utf8').trim();
    const holder = execa('psql', ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', 'training', '-c', 'SELECT pg_sleep(30)'], {
      env: { PGPASSWORD: password },
      reject: false,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const held = await cli(['database', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
      expect(held.exitCode).toBe(1);
      const preflight = jsonOf<RunJson>(held).steps.find((s) => s.id === 'preflight');
      expect(preflight?.summary).toMatch(/pid \d+ \(postgres, psql\) is connected and role trimp may not end it: .*; nothing was changed$/);
    } finally {
      holder.kill();
      await holder;
      // The server notices a client gone only when it next writes to it: its session is ended here.
      await psql('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'");
    }
    await psql('postgres', 'ALTER DATABASE training OWNER TO postgres');
    try {
      const notOwner = await cli(['database', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
      expect(notOwner.exitCode).toBe(1);
      expect(jsonOf<RunJson>(notOwner).steps.find((s) => s.id === 'preflight')?.summary).toMatch(
        /role trimp does not own the database \(postgres does\): only its owner may rename it/,
      );
    } finally {
      await psql('postgres', 'ALTER DATABASE training OWNER TO trimp');
    }
    expect(await databases()).toEqual(before);
    for (const url of info.instances) expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  pgIt('without amcheck for the role, the restored database is checked by its facts and the run says what it could not check', async () => {
    await psql('template1', 'REVOKE EXECUTE ON FUNCTION bt_index_check(regclass) FROM PUBLIC');
    try {
      const run = await cli(['database', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
      expect(run.exitCode, run.stderr.split('\n').slice(-20).join('\n')).toBe(0);
      const check = jsonOf<RunJson>(run).steps.find((s) => s.id === 'check-restored');
      expect(check?.status).toBe('warned');
      expect(check?.summary).toMatch(/match; not checked for corruption: this role may not run amcheck's functions/);
      for (const url of info.instances) expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await psql('template1', 'GRANT EXECUTE ON FUNCTION bt_index_check(regclass) TO PUBLIC');
    }
  });

  pgIt('a role that may not create databases is found before anything changes (exit 1, nothing renamed)', async () => {
    await psql('postgres', 'ALTER ROLE trimp NOCREATEDB');
    try {
      const before = await databases();
      const run = await cli(['database', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
      expect(run.exitCode).toBe(1);
      const preflight = jsonOf<RunJson>(run).steps.find((s) => s.id === 'preflight');
      expect(preflight?.status).toBe('failed');
      expect(preflight?.summary).toMatch(/role trimp may not create databases: the restore needs CREATEDB .*; nothing was changed$/);
      expect(await databases()).toEqual(before);
      for (const url of info.instances) expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await psql('postgres', 'ALTER ROLE trimp CREATEDB');
    }
  });

  pgIt(
    'run complete: the flag, application, database (its PostgreSQL twin) and flag stages, and its Undo line, all on two instances',
    async () => {
      const backup = await cli(['backup', 'create', '--label', 'before-breach', '--json', '--config', info.config]);
      expect(backup.exitCode, backup.stderr).toBe(0);
      const run = await cli(['run', 'complete', '--yes', '--json', '--settle', '5s', '--config', info.config], { timeoutMs: 180_000 });
      expect(run.exitCode, run.stderr.split('\n').slice(-25).join('\n')).toBe(0);
      const result = jsonOf<RunJson>(run);
      const ids = result.steps.map((s) => s.id);
      expect(ids).toEqual(expect.arrayContaining(['database.stage', 'database.swap', 'application.start-app', 'flag-again.verify']));
      expect(ids.some((id) => id === 'database.keep-current' || id === 'database.restore')).toBe(false);
      expect(result.undo_command).toMatch(
        /^trimp-rollback database undo --run \S+ --config \S+ --yes && trimp-rollback application undo --run \S+ --config \S+ --yes && trimp-rollback flag restore --run \S+ --config \S+ --yes$/,
      );
      // The printed Undo, pasted: three runs, each succeeds.
      const undo = await execa('bash', ['-c', result.undo_command as string], {
        env: { PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`, NO_COLOR: '1' },
        reject: false,
        timeout: 180_000,
      });
      expect(undo.exitCode, String(undo.stderr).split('\n').slice(-25).join('\n')).toBe(0);
      expect(`${undo.stdout}\n${undo.stderr}`.match(/^Run \S+ — runbook (\S+) via api: (\S+)$/gm)).toEqual([
        expect.stringMatching(/runbook database-undo-postgres via api: SUCCEEDED$/),
        expect.stringMatching(/runbook application via api: SUCCEEDED$/),
        expect.stringMatching(/runbook flag via api: SUCCEEDED$/),
      ]);
    },
    420_000,
  );
});

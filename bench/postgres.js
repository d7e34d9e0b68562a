// PostgreSQL targets (issue #13), on a database of about 1 GB (TRIMP_BENCH_PG_MB to change it),
// each against a baseline measured in the same run:
//   - a verified backup (`backup create`: pg_dump -Fc in an exported snapshot, the manifest's
//     facts, pg_restore --list, SHA-256) ÷ a bare `pg_dump -Fc`;
//   - a verified restore with the swap (`database --backup ID --yes`, the whole run: verify the
//     archive, pg_restore into a new database, compare with the manifest, stop, swap, amcheck,
//     start, validate) ÷ a bare `pg_restore` into an empty database; its stage step alone too;
//   - `flag --all --via db --yes` against two instances ÷ a bare psql UPDATE of the flag rows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;
const TARGET_MB = Number(process.env.TRIMP_BENCH_PG_MB ?? 1024);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function run(command, args, env = {}) {
  const started = performance.now();
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`${command} ${args.slice(0, 4).join(' ')} exited ${result.status}: ${result.stderr.slice(-600)}`);
  return { ms, stdout: result.stdout };
}

function row(name, measured, baselineName, baseline) {
  console.log(
    `${name.padEnd(52)} ${measured.toFixed(0).padStart(8)} ms   ${baselineName.padEnd(36)} ${baseline.toFixed(0).padStart(8)} ms   ratio ${(measured / baseline).toFixed(2)}×`,
  );
}

/** Debian's newest client program of that name (pg_dump must match the server). */
function program(name) {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0], 'bin', name);
}

export async function benchPostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-pg-'));
  const work = mkdtempSync(join(tmpdir(), 'trimp-bench-pg-work-'));
  try {
    const info = JSON.parse(
      run(node, [BIN, 'sandbox', 'start', '--dir', dir, '--engine', 'postgres', '--instances', '2', '--json']).stdout,
    );
    // At this size the app's admin endpoints scan millions of rows (calculation stats, a GROUP BY over
    // every activity), and validation asks both instances at once: the timeouts an operator of such a
    // database would set, not the defaults for a small one.
    const config = readFileSync(info.config, 'utf8')
      .replace('target:\n', 'target:\n  http_timeout_ms: 60000\n')
      .concat('validation:\n  check_timeout_ms: 120000\n');
    writeFileSync(info.config, config);
    const url = new URL(info.database);
    const superuser = { PGPASSWORD: readFileSync(join(dir, 'postgres', 'superuser-password'), 'utf8').trim() };
    const connection = ['-h', url.hostname, '-p', url.port, '-U', 'postgres'];
    const psql = (database, sql) => run('psql', [...connection, '-d', database, '-Atqc', sql], superuser).stdout.trim();

    // Grow the app's database to the size asked: copies of its average-method activities (their
    // stored TRIMP stays consistent, so validation judges real rows), a million at a time.
    const size = () => Number(psql('training', 'SELECT pg_database_size(current_database())'));
    const grow = `INSERT INTO activities (user_id, date, name, type, avg_heart_rate, max_heart_rate, duration_minutes, trimp,
        time_in_zone1, time_in_zone2, time_in_zone3, time_in_zone4, time_in_zone5, trimp_calculation_method, hr_stream_sample_count,
        trimp_processed_at)
      SELECT user_id, date, name, type, avg_heart_rate, max_heart_rate, duration_minutes, trimp, time_in_zone1, time_in_zone2,
        time_in_zone3, time_in_zone4, time_in_zone5, trimp_calculation_method, hr_stream_sample_count, trimp_processed_at
      FROM activities WHERE trimp_calculation_method = 'average' LIMIT 1000000`;
    const growing = performance.now();
    while (size() < TARGET_MB * 1024 * 1024) psql('training', grow);
    psql('training', 'VACUUM ANALYZE');
    const bytes = size();
    const activities = psql('training', 'SELECT COUNT(*) FROM activities');
    console.log(
      `PostgreSQL database: ${(bytes / 1024 ** 2).toFixed(0)} MiB, ${activities} activities (grown in ${((performance.now() - growing) / 1000).toFixed(0)} s)`,
    );

    // Backups: the tool's verified one against a bare pg_dump -Fc, alternated, three of each.
    const bare = [];
    const tool = [];
    let backupId = '';
    for (let i = 0; i < 3; i++) {
      const out = join(work, `bare-${i}.dump`);
      bare.push(run(program('pg_dump'), [...connection, '-d', 'training', '--format=custom', '--file', out], superuser).ms);
      rmSync(out, { force: true });
      const created = run(node, [BIN, 'backup', 'create', '--json', '--config', info.config]);
      tool.push(created.ms);
      const manifest = JSON.parse(created.stdout);
      if (i < 2) rmSync(join(dir, 'backups', manifest.file), { force: true });
      if (i < 2) rmSync(join(dir, 'backups', `${manifest.id}.json`), { force: true });
      else backupId = manifest.id;
    }
    row('backup create (pg_dump -Fc, verified)', median(tool), 'a bare pg_dump -Fc', median(bare));

    // Restores: a bare pg_restore into an empty database, against the whole database rollback.
    const archive = join(dir, 'backups', `${backupId}.dump`);
    psql('postgres', 'DROP DATABASE IF EXISTS bench_restore');
    psql('postgres', 'CREATE DATABASE bench_restore');
    const bareRestore = run(
      program('pg_restore'),
      [...connection, '-d', 'bench_restore', '--no-owner', '--no-acl', '--exit-on-error', archive],
      superuser,
    ).ms;
    psql('postgres', 'DROP DATABASE bench_restore');
    const rollback = run(node, [
      BIN,
      'database',
      '--backup',
      backupId,
      '--yes',
      '--json',
      '--sample-every',
      'off',
      '--config',
      info.config,
    ]);
    const steps = JSON.parse(rollback.stdout).steps;
    const stepMs = (id) => steps.find((s) => s.id === id)?.duration_ms ?? Number.NaN;
    row('database --yes (verify, restore, swap, validate)', rollback.ms, 'a bare pg_restore (empty database)', bareRestore);
    row('  its stage step (pg_restore + manifest check)', stepMs('stage'), 'a bare pg_restore (empty database)', bareRestore);
    console.log(
      `  outage (stop-app to health): ${['stop-app', 'swap', 'check-restored', 'start-app', 'health'].reduce((n, id) => n + stepMs(id), 0).toFixed(0)} ms; swap ${stepMs('swap')} ms`,
    );

    // The flag against two instances, through the database.
    const flags = [];
    const updates = [];
    for (let i = 0; i < 5; i++) {
      run(node, [BIN, 'flag', '--all', '--enable', '--via', 'db', '--yes', '--sample-every', 'off', '--config', info.config]);
      flags.push(run(node, [BIN, 'flag', '--all', '--via', 'db', '--yes', '--sample-every', 'off', '--config', info.config]).ms);
      updates.push(
        run(
          'psql',
          [...connection, '-d', 'training', '-qc', "UPDATE feature_flags SET enabled = 0 WHERE name = 'enhanced_trimp_calculation'"],
          superuser,
        ).ms,
      );
    }
    row('flag --all --via db --yes, 2 instances', median(flags), 'a bare psql UPDATE', median(updates));
  } finally {
    spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPostgres();

// PostgreSQL targets (issue #13, first parts): `flag --all --via db --yes` against the sandbox's own
// PostgreSQL server, against the same command on a SQLite sandbox and against a bare `psql` UPDATE
// of the three flag rows (what an operator would type), medians measured in the same run. The
// backup/restore figures the issue asks for (pg_dump, pg_restore on ~1 GB) come with those features.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function timed(command, args, env = {}) {
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.slice(0, 4).join(' ')} exited ${result.status}: ${result.stderr.slice(-400)}`);
  return ms;
}

function row(name, measured, baselineName, baseline) {
  console.log(
    `${name.padEnd(44)} ${measured.toFixed(1).padStart(8)} ms   ${baselineName.padEnd(28)} ${baseline.toFixed(1).padStart(8)} ms   ratio ${(measured / baseline).toFixed(2)}×`,
  );
}

export async function benchPostgres() {
  const pgDir = mkdtempSync(join(tmpdir(), 'trimp-bench-pg-'));
  const liteDir = mkdtempSync(join(tmpdir(), 'trimp-bench-lite-'));
  try {
    const start = (dir, engine) =>
      JSON.parse(spawnSync(node, [BIN, 'sandbox', 'start', '--dir', dir, '--engine', engine, '--json'], { encoding: 'utf8' }).stdout);
    const pgInfo = start(pgDir, 'postgres');
    const liteInfo = start(liteDir, 'sqlite');
    const flip = (config) => {
      timed(node, [BIN, 'flag', '--all', '--enable', '--via', 'db', '--yes', '--config', config]);
      return timed(node, [BIN, 'flag', '--all', '--via', 'db', '--yes', '--sample-every', 'off', '--config', config]);
    };
    const url = new URL(pgInfo.database);
    const password = readFileSync(join(pgDir, 'postgres', 'trimp-password'), 'utf8').trim();
    const psql = () =>
      timed(
        'psql',
        [
          '-h',
          url.hostname,
          '-p',
          url.port,
          '-U',
          'trimp',
          '-d',
          'training',
          '-qc',
          "UPDATE feature_flags SET enabled = 0 WHERE name = 'enhanced_trimp_calculation'",
        ],
        { PGPASSWORD: password },
      );
    const pg = [];
    const lite = [];
    const bare = [];
    for (let i = 0; i < 7; i++) {
      pg.push(flip(pgInfo.config));
      lite.push(flip(liteInfo.config));
      bare.push(psql());
    }
    row('flag --all --via db --yes, PostgreSQL', median(pg), 'a bare psql UPDATE', median(bare));
    row('flag --all --via db --yes, PostgreSQL', median(pg), 'the same on SQLite', median(lite));
  } finally {
    for (const dir of [pgDir, liteDir]) {
      spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPostgres();

// The database scenario's figures (issue #9), on generated databases of about 1 GiB and 256 MiB.
// Baselines are measured in the same run: the sqlite3 CLI's .backup, cp + fsync. Not in CI.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;
const GIB = 1024 ** 3;

/** Runs a command, sampling its peak RSS (VmHWM) from /proc while it runs. */
async function measured(command, args, { allowFail = false, capMs } = {}) {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let peakKb = 0;
  const sampler = setInterval(() => {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakKb = Math.max(peakKb, Number(match[1]));
    } catch {}
  }, 20);
  const cap = capMs ? setTimeout(() => child.kill('SIGKILL'), capMs) : undefined;
  const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(signal ? signal : c)));
  clearInterval(sampler);
  clearTimeout(cap);
  const ms = performance.now() - started;
  if (code !== 0 && !allowFail) throw new Error(`${command} ${args.join(' ')} → ${code}: ${stderr.slice(-500)}`);
  return { ms, peakMb: peakKb / 1024, code, stdout, stderr };
}

const sqlite = (db, sql) => {
  const result = spawnSync('sqlite3', [db, sql], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`sqlite3: ${result.stderr}`);
  return result.stdout.trim();
};

/** A sandbox database grown to about `bytes`: 1M rest-day activities (the TRIMP checks sample only computed ones), the rest heart-rate streams (~14 KB each, as real ones). */
function generate(dir, bytes) {
  spawnSync(node, [BIN, 'sandbox', 'seed', '--dir', dir, '--users', '200', '--activities', '1000'], { encoding: 'utf8' });
  const db = join(dir, 'training_data.db');
  sqlite(
    db,
    `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000)
     INSERT INTO activities (user_id, date, name, type, avg_heart_rate, duration_minutes, trimp, trimp_calculation_method)
     SELECT 1 + x % 200, date('2019-01-01', '+' || (x % 1000) || ' days') || ' 07:00:00', 'Rest', 'Rest', 130 + x % 40, 60, 0, 'rest_day' FROM c;`,
  );
  const stream = `'[' || substr(replace(hex(zeroblob(3600)), '00', '150,'), 1, 14399) || ']'`;
  for (let offset = 2000; statSync(db).size < bytes; offset += 10000) {
    sqlite(
      db,
      `INSERT OR IGNORE INTO hr_streams (activity_id, user_id, hr_data, sample_rate)
       SELECT activity_id, user_id, ${stream}, 1.0 FROM activities WHERE activity_id > ${offset} AND activity_id <= ${offset + 10000};
       PRAGMA wal_checkpoint(TRUNCATE);`,
    );
  }
  return db;
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const line = (name, value, baselineName, baseline, note) =>
  console.log(`${name.padEnd(44)} ${value.padStart(10)}   ${baselineName.padEnd(28)} ${baseline.padStart(10)}   ${note}`);

export async function benchDatabase() {
  console.log('\n# database scenario (issue #9)');
  const sizes = [Number(process.env.BENCH_DB_GIB ?? 1) * GIB, 0.25 * GIB];
  const rss = [];
  for (const [index, bytes] of sizes.entries()) {
    const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-db-'));
    try {
      const started = performance.now();
      const db = generate(dir, bytes);
      const size = statSync(db).size;
      const label = `${(size / GIB).toFixed(2)} GiB`;
      console.log(
        `generated ${label} (${sqlite(db, 'SELECT COUNT(*) FROM activities')} activities, ${sqlite(db, 'SELECT COUNT(*) FROM hr_streams')} streams) in ${fmt(performance.now() - started)}`,
      );
      const info = JSON.parse(spawnSync(node, [BIN, 'sandbox', 'start', '--dir', dir, '--json'], { encoding: 'utf8' }).stdout);
      appendFileSync(info.config, 'validation:\n  check_timeout_ms: 60000\n');
      const config = ['--config', info.config];

      // 1. Verified backup (backup API + quick_check + SHA-256) against sqlite3's plain .backup, idle;
      //    three pairs in alternating order (the second of a pair reads a warmer page cache).
      const pairs = [];
      for (let i = 0; i < 3; i++) {
        const runCli = async () => {
          const result = await measured('sqlite3', [db, `.backup ${join(dir, 'cli-backup.db')}`]);
          rmSync(join(dir, 'cli-backup.db'), { force: true });
          return result;
        };
        const runOurs = async () => {
          const result = await measured(node, [BIN, 'backup', 'create', '--json', ...config]);
          spawnSync(node, [BIN, 'backup', 'prune', '--keep', '1', ...config]);
          return result;
        };
        const first = i % 2 === 0 ? await runCli() : await runOurs();
        const second = i % 2 === 0 ? await runOurs() : await runCli();
        pairs.push(i % 2 === 0 ? { cli: first, ours: second } : { cli: second, ours: first });
      }
      const med = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const cli = { ms: med(pairs.map((p) => p.cli.ms)) };
      const ours = { ms: med(pairs.map((p) => p.ours.ms)), peakMb: Math.max(...pairs.map((p) => p.ours.peakMb)) };
      const idleMs = ours.ms;
      line(
        `verified backup, ${label}, idle (median of 3)`,
        fmt(ours.ms),
        'sqlite3 .backup (no checks)',
        fmt(cli.ms),
        `ratio ${(ours.ms / cli.ms).toFixed(2)}× (goal ≤ 1.0; pairs ${pairs.map((p) => (p.ours.ms / p.cli.ms).toFixed(2)).join(', ')}); peak RSS ${ours.peakMb.toFixed(0)} MB`,
      );
      rss.push({ label, what: 'backup', mb: ours.peakMb });

      if (index === 0) {
        // 2. Under ~50 commits/s: the sandbox's simulated users (30 % of them sync an activity).
        spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
        const busy = JSON.parse(
          spawnSync(node, [BIN, 'sandbox', 'start', '--dir', dir, '--json', '--traffic', '170'], { encoding: 'utf8' }).stdout,
        );
        appendFileSync(busy.config, 'validation:\n  check_timeout_ms: 60000\n');
        await sleep(2000);
        const countBefore = Number(sqlite(db, 'SELECT MAX(activity_id) FROM activities'));
        const loaded = await measured(node, [BIN, 'backup', 'create', '--json', ...config]);
        const countAfter = Number(sqlite(db, 'SELECT MAX(activity_id) FROM activities'));
        const rate = (countAfter - countBefore) / (loaded.ms / 1000);
        line(
          `verified backup, ${label}, under writes`,
          fmt(loaded.ms),
          'the same, idle',
          fmt(idleMs),
          `ratio ${(loaded.ms / idleMs).toFixed(2)}× (goal ≤ 3×), ${rate.toFixed(0)} commits/s meanwhile`,
        );
        const capMs = 60_000;
        const cliLoaded = await measured('sqlite3', [db, `.backup ${join(dir, 'cli-backup.db')}`], { allowFail: true, capMs });
        rmSync(join(dir, 'cli-backup.db'), { force: true });
        line(
          `sqlite3 .backup, ${label}, under writes`,
          cliLoaded.code === 0 ? fmt(cliLoaded.ms) : `> ${fmt(capMs)}`,
          'the same, idle',
          fmt(cli.ms),
          cliLoaded.code === 0
            ? `finished (${(cliLoaded.ms / cli.ms).toFixed(1)}×)`
            : `did not finish within the ${capMs / 1000} s cap (killed)`,
        );
        spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
        spawnSync(node, [BIN, 'sandbox', 'start', '--dir', dir, '--json'], { encoding: 'utf8' });
        appendFileSync(info.config, 'validation:\n  check_timeout_ms: 60000\n');
        spawnSync(node, [BIN, 'backup', 'prune', '--keep', '1', ...config]);
      }

      // 3. and 4. database --yes end to end; the verified restore is its verify + restore + check steps.
      const run = await measured(node, [BIN, 'database', '--yes', '--json', ...config]);
      const result = JSON.parse(run.stdout);
      const stepMs = (id) => result.steps.find((s) => s.id === id)?.duration_ms ?? 0;
      const restoreMs = stepMs('verify-backup') + stepMs('restore') + stepMs('check-restored');
      const copy = join(dir, 'cp-copy.db');
      const cp = await measured('sh', ['-c', `cp ${db} ${copy} && sync ${copy}`]);
      rmSync(copy, { force: true });
      line(
        `verified restore, ${label}`,
        fmt(restoreMs),
        'cp + fsync',
        fmt(cp.ms),
        `ratio ${(restoreMs / cp.ms).toFixed(2)}× (goal ≤ 4); verify ${fmt(stepMs('verify-backup'))}, restore ${fmt(stepMs('restore'))}, check ${fmt(stepMs('check-restored'))}`,
      );
      line(
        `database --yes end to end, ${label}`,
        fmt(run.ms),
        'goal',
        '30.00 s',
        `${result.status}; ${run.ms <= 30_000 ? 'met' : 'NOT met'}; peak RSS ${run.peakMb.toFixed(0)} MB`,
      );
      rss.push({ label, what: 'database --yes (restore)', mb: run.peakMb });
      spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
    } finally {
      spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`peak RSS (goal ≤ 150 MB, flat in size): ${rss.map((r) => `${r.what} ${r.label}: ${r.mb.toFixed(0)} MB`).join('; ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchDatabase();

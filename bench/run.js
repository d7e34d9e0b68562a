#!/usr/bin/env node
// npm run bench: wall-clock figures with a baseline measured in the same run, printed as ratios.
// Not a test: nothing here passes or fails; it tells how fast the real thing is on this machine.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;

function time(command, args, options = {}) {
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, ...options });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Alternates the two commands so that both see the same machine state. */
function compare(runs, measure, baseline) {
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    b.push(baseline());
    a.push(measure());
  }
  return { measured: median(a), baseline: median(b) };
}

function row(name, figures, baselineName, goal) {
  const ratio = figures.measured / figures.baseline;
  console.log(
    `${name.padEnd(44)} ${figures.measured.toFixed(1).padStart(8)} ms   ${baselineName.padEnd(28)} ${figures.baseline.toFixed(1).padStart(8)} ms   ratio ${ratio.toFixed(2)}×   ${goal}`,
  );
}

console.log(`trimp-rollback bench — node ${process.version}, medians\n`);

// 1. Start-up: the CLI's --help against a bare node process.
time(node, [BIN, '--help']); // warm the page cache
row(
  'trimp-rollback --help',
  compare(
    21,
    () => time(node, [BIN, '--help']),
    () => time(node, ['-e', '0']),
  ),
  'node -e 0',
  'goal ≤ 1.5×',
);

// 2. The headline: flag --all --yes against a running sandbox, verification included.
const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-'));
try {
  const info = JSON.parse(spawnSync(node, [BIN, 'sandbox', 'start', '--dir', dir, '--json'], { encoding: 'utf8' }).stdout);
  const config = ['--config', info.config];
  const token = readFileSync(info.token_file, 'utf8').trim();
  const rollForward = () => time(node, [BIN, 'flag', '--all', '--enable', '--yes', ...config]);
  const rollBack = () => {
    rollForward();
    return time(node, [BIN, 'flag', '--all', '--yes', ...config]);
  };
  // The page it replaces: the seed's three curl POSTs, no verification at all.
  const seedCurl = () => {
    const started = performance.now();
    for (const type of ['admin', 'beta', 'regular']) {
      time('curl', [
        '-sf',
        '-X',
        'POST',
        `${info.base_url}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`,
        '-H',
        'Content-Type: application/json',
        '-H',
        `Authorization: Bearer ${token}`,
        '-d',
        JSON.stringify({ user_type: type, enabled: false }),
      ]);
    }
    return performance.now() - started;
  };
  const flag = compare(7, rollBack, seedCurl);
  row(
    'flag --all --yes (6 steps incl. verify+validate)',
    flag,
    "the seed's 3 curl POSTs",
    `goal ≤ 1000 ms: ${flag.measured <= 1000 ? 'met' : 'NOT met'}`,
  );
  row(
    'flag --all --yes vs bare node',
    { measured: flag.measured, baseline: median([0, 1, 2, 3, 4].map(() => time(node, ['-e', '0']))) },
    'node -e 0',
    '',
  );
  const dry = compare(7, () => time(node, [BIN, 'flag', '--all', '--dry-run', ...config]), seedCurl);
  row('flag --all --dry-run', dry, "the seed's 3 curl POSTs", '');
} finally {
  spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
}

// 3. Seeding at scale: `sandbox seed` against the sqlite3 CLI inserting as many bare rows.
// 4. Then all validation checks against that database, served by a sandbox, against the sqlite3
//    CLI's quick_check of the same file (the heaviest single thing the checks do).
const ACTIVITIES = Number(process.env.BENCH_ACTIVITIES ?? 1_000_000);
const seedDir = mkdtempSync(join(tmpdir(), 'trimp-bench-seed-'));
try {
  const started = performance.now();
  const seeded = JSON.parse(
    spawnSync(node, [BIN, 'sandbox', 'seed', '--dir', seedDir, '--users', '2000', '--activities', String(ACTIVITIES), '--json'], {
      encoding: 'utf8',
    }).stdout,
  );
  const seedMs = performance.now() - started;
  const sqlStarted = performance.now();
  spawnSync('sqlite3', [
    join(seedDir, 'baseline.db'),
    `PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE activities (activity_id INTEGER PRIMARY KEY, user_id INTEGER, date TEXT, name TEXT, type TEXT, avg_heart_rate REAL, max_heart_rate REAL, duration_minutes REAL, trimp REAL, z1 REAL, z2 REAL, z3 REAL, z4 REAL, z5 REAL, method TEXT, samples INTEGER, processed TEXT);
     WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ACTIVITIES})
     INSERT INTO activities SELECT x, x % 2000, '2025-01-01 10:00:00', 'Morning run', 'Run', 140 + x % 30, 170, 60, 100.5, 1, 2, 3, 4, 5, 'average', NULL, '2025-01-01 10:00:00' FROM c;`,
  ]);
  const sqlMs = performance.now() - sqlStarted;
  rmSync(join(seedDir, 'baseline.db'), { force: true });
  row(
    `sandbox seed ${ACTIVITIES.toLocaleString('en-US')} activities`,
    { measured: seedMs, baseline: sqlMs },
    'sqlite3 CLI, bare rows',
    `${Math.round(ACTIVITIES / (seedMs / 1000)).toLocaleString('en-US')} activities/s (goal 1M < 30 s), ${seeded.streams} streams`,
  );

  const info = JSON.parse(spawnSync(node, [BIN, 'sandbox', 'start', '--dir', seedDir, '--json'], { encoding: 'utf8' }).stdout);
  time(node, [BIN, 'flag', '--all', '--yes', '--config', info.config]); // a run with a baseline
  const validate = compare(
    3,
    () => {
      const started = performance.now();
      spawnSync(node, [BIN, 'validate', '--config', info.config], { encoding: 'utf8' }); // exit 1 is a finding, not a bench failure
      return performance.now() - started;
    },
    () => time('sqlite3', [info.database, 'PRAGMA quick_check']),
  );
  row(
    `validate, all 15 checks, ${ACTIVITIES.toLocaleString('en-US')} activities`,
    validate,
    'sqlite3 PRAGMA quick_check',
    `goal ≤ 3000 ms: ${validate.measured <= 3000 ? 'met' : 'NOT met'}`,
  );
} finally {
  spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', seedDir]);
  rmSync(seedDir, { recursive: true, force: true });
}

// 5. Request throughput on POST /api/trimp/calculate at a fixed concurrency, against a bare
// node HTTP server answering the same JSON.
const CONCURRENCY = 16;
const SECONDS = 3;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function load(url, body) {
  return new Promise((resolve) => {
    let done = 0;
    let failed = 0;
    const until = performance.now() + SECONDS * 1000;
    let active = CONCURRENCY;
    const next = () => {
      if (performance.now() > until) {
        if (--active === 0) resolve({ perSecond: done / SECONDS, failed });
        return;
      }
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) done++;
          else failed++;
          next();
        });
      });
      req.on('error', () => {
        failed++;
        next();
      });
      req.end(body);
    };
    for (let i = 0; i < CONCURRENCY; i++) next();
  });
}
const loadDir = mkdtempSync(join(tmpdir(), 'trimp-bench-load-'));
const bare = spawn(node, [
  '-e',
  `require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, {'content-type': 'application/json'}); s.end('{"success":true,"trimp":129.36,"method":"average"}'); }); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); })`,
]);
try {
  const bareUrl = await new Promise((resolve) => bare.stdout.once('data', (d) => resolve(`http://127.0.0.1:${String(d).trim()}/`)));
  const info = JSON.parse(spawnSync(node, [BIN, 'sandbox', 'start', '--dir', loadDir, '--json'], { encoding: 'utf8' }).stdout);
  const body = JSON.stringify({
    user_id: 4,
    duration_minutes: 60,
    avg_hr: 150,
    hr_stream: Array.from({ length: 60 }, (_, i) => 130 + (i % 5) * 10),
  });
  await load(`${info.base_url}/api/trimp/calculate`, body); // warm up
  const sandboxLoad = await load(`${info.base_url}/api/trimp/calculate`, body);
  const bareLoad = await load(bareUrl, body);
  const ratio = sandboxLoad.perSecond / bareLoad.perSecond;
  console.log(
    `${`POST /api/trimp/calculate, ${CONCURRENCY} concurrent`.padEnd(44)} ${sandboxLoad.perSecond.toFixed(0).padStart(8)} req/s   ${'bare node http server'.padEnd(28)} ${bareLoad.perSecond.toFixed(0).padStart(8)} req/s   ratio ${ratio.toFixed(2)}×   ${sandboxLoad.failed} failed`,
  );
} finally {
  bare.kill();
  spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', loadDir]);
  rmSync(loadDir, { recursive: true, force: true });
  agent.destroy();
}

// 6. The database scenario: backups and the restore on generated databases of ~1 GiB and 256 MiB.
const { benchDatabase } = await import('./database.js');
await benchDatabase();

// 7. The application scenario: a bad release rolled back, against kill + git checkout + start.
const { benchApplication } = await import('./application.js');
await benchApplication();

// 8. The gradual scenario: what one monitoring sample costs, against a bare curl of the metrics endpoint.
const { benchGradual } = await import('./gradual.js');
await benchGradual();

// 9. The reports: sampling beside a run, one background sample, drawing report.html.
const { benchReport } = await import('./report.js');
await benchReport();

// 10. PostgreSQL targets: the flag through the database, against psql and against SQLite.
const { benchPostgres } = await import('./postgres.js');
await benchPostgres();

// 11. The public app's profile: figures from api_logs, validate through a session login.
const { benchTrainingMonkey } = await import('./trainingmonkey.js');
await benchTrainingMonkey();

// The public app's profile (issue #16), each figure against a baseline measured in the same run:
// - reading users' figures from api_logs (the app has no metrics endpoint) for windows of 20k,
//   100k and 200k requests, against the sqlite3 CLI running the same SELECT;
// - `validate` against the trainingmonkey sandbox (session login, trimp-comparison, api_logs),
//   against a bare node process that logs in and reads /api/admin/feature-flags once.
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
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (result.status !== 0 && result.status !== 1)
    throw new Error(`${args.slice(0, 3).join(' ')} exited ${result.status}: ${result.stderr.slice(-400)}`);
  return ms;
}

function row(name, measured, baselineName, baseline) {
  console.log(
    `${name.padEnd(44)} ${measured.toFixed(1).padStart(8)} ms   ${baselineName.padEnd(30)} ${baseline.toFixed(1).padStart(8)} ms   ratio ${(measured / baseline).toFixed(2)}×`,
  );
}

export async function benchTrainingMonkey() {
  const { default: Database } = await import('better-sqlite3');
  const { apiLogsMetrics } = await import('../dist/target/api-logs-metrics.js');
  const { openSqlite } = await import('../dist/target/database.js');
  const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-tm-'));
  try {
    // api_logs as the app writes it, with N requests in the last minute.
    for (const n of [20_000, 100_000, 200_000]) {
      const file = join(dir, `logs-${n}.db`);
      const db = new Database(file);
      db.exec(`CREATE TABLE api_logs (id INTEGER PRIMARY KEY, "timestamp" TEXT NOT NULL, endpoint TEXT NOT NULL, method TEXT NOT NULL,
        response_time_ms INTEGER, status_code INTEGER, user_id INTEGER, error_message TEXT, request_size_bytes INTEGER,
        response_size_bytes INTEGER, user_agent TEXT, ip_address TEXT); CREATE INDEX idx_api_logs_timestamp ON api_logs ("timestamp")`);
      const insert = db.prepare(
        `INSERT INTO api_logs ("timestamp", endpoint, method, response_time_ms, status_code, user_id, user_agent) VALUES (?, 'get_training_data', 'GET', ?, ?, ?, 'node')`,
      );
      const now = Date.now();
      db.transaction(() => {
        for (let i = 0; i < n; i++)
          insert.run(new Date(now - (i * 55_000) / n).toISOString(), 5 + (i % 50), i % 40 === 0 ? 500 : 200, 1 + (i % 12));
      })();
      db.close();
      const sql = `SELECT user_id, status_code, response_time_ms, "timestamp" FROM api_logs WHERE "timestamp" >= '${new Date(now - 60_000).toISOString()}' AND (user_agent IS NULL OR user_agent NOT LIKE 'trimp-rollback/%') AND endpoint NOT IN ('health','health_check','/health','login','/login') ORDER BY "timestamp" DESC LIMIT 200000`;
      const ours = [];
      const cli = [];
      for (let i = 0; i < 5; i++) {
        cli.push(timed('sqlite3', [file, sql]));
        const handle = await openSqlite(file, { readonly: true });
        const started = performance.now();
        await apiLogsMetrics(handle, 60, (id) => (id === 1 ? 'admin' : id <= 3 ? 'beta' : 'regular'), new Date(now + 1000));
        ours.push(performance.now() - started);
        await handle.close();
      }
      row(`api_logs figures, ${n / 1000}k requests in the window`, median(ours), 'sqlite3 CLI, the same SELECT', median(cli));
    }

    // validate against the public app's sandbox, under traffic.
    const sandbox = join(dir, 'sandbox');
    const info = JSON.parse(
      spawnSync(node, [BIN, 'sandbox', 'start', '--dir', sandbox, '--profile', 'trainingmonkey', '--traffic', '40', '--json'], {
        encoding: 'utf8',
      }).stdout,
    );
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const password = readFileSync(info.login.password_file, 'utf8').trim();
    const bare = `const b=${JSON.stringify(info.base_url)};const r=await fetch(b+'/login',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({email:${JSON.stringify(info.login.email)},password:process.env.P})});const c=/session=[^;]+/.exec(r.headers.get('set-cookie'))[0];await (await fetch(b+'/api/admin/feature-flags',{headers:{cookie:c}})).text();`;
    const ours = [];
    const baseline = [];
    for (let i = 0; i < 5; i++) {
      baseline.push(timed(node, ['--input-type=module', '-e', bare], { P: password }));
      ours.push(timed(node, [BIN, 'validate', '--config', info.config]));
    }
    row('validate (15 checks) on the public app', median(ours), 'bare node: log in, read flags', median(baseline));
    spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', sandbox]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The gradual scenario's figure (issue #11): what one monitoring sample costs, against a bare
// `curl` of the same metrics endpoint (the seed's `watch -n 30 curl ...`), measured in the same
// run on a sandbox under simulated traffic. Not in CI.
//
// A sample's cost is read from the journal: each monitor_sample carries the moment it was asked
// for (`at`, the interval's end) and the journal stamps the moment it was recorded (`ts`): the
// HTTP call, the shape check, the error-log read and building the event, all inside the real CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;
const cli = (...args) => spawnSync(node, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const p95 = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.95)];

export async function benchGradual() {
  const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-gradual-'));
  try {
    const info = JSON.parse(cli('sandbox', 'start', '--dir', dir, '--traffic', '40', '--json').stdout);
    const token = readFileSync(info.token_file, 'utf8').trim();
    const url = `${info.base_url}/api/admin/trimp-performance-metrics?window=0.20`;
    const curl = () => {
      const started = performance.now();
      const result = spawnSync('curl', ['-sf', url, '-H', `Authorization: Bearer ${token}`], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`curl exited ${result.status}`);
      return performance.now() - started;
    };
    curl(); // warm
    const bare = Array.from({ length: 50 }, curl);

    // 50 samples: a 10 s window sampled every 200 ms, no fault (the first window recovers).
    const started = performance.now();
    const run = cli('gradual', '--window', '10s', '--interval', '200ms', '--yes', '--config', info.config);
    const wallMs = performance.now() - started;
    if (run.status !== 0) throw new Error(`gradual exited ${run.status}: ${run.stdout.slice(-400)}`);
    const runs = join(dir, 'state', 'runs');
    const runId = readdirSync(runs).find((id) => id.includes('-gradual-'));
    const events = readFileSync(join(runs, runId, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const samples = events.filter((e) => e.type === 'step.observed' && e.name === 'monitor_sample');
    const costs = samples.map((e) => new Date(e.ts).getTime() - new Date(e.data.at).getTime());
    const medianCost = median(costs);
    const medianCurl = median(bare);
    console.log(
      `${'gradual: one monitor sample (n=50, journaled)'.padEnd(44)} ${medianCost.toFixed(1).padStart(8)} ms   ${'curl of the metrics endpoint'.padEnd(28)} ${medianCurl.toFixed(1).padStart(8)} ms   ratio ${(medianCost / medianCurl).toFixed(2)}×   p95 ${p95(costs)} ms vs ${p95(bare).toFixed(1)} ms`,
    );
    console.log(
      `${'gradual: 10 s window, 50 samples, whole run'.padEnd(44)} ${wallMs.toFixed(0).padStart(8)} ms   ${'the window itself'.padEnd(28)} ${'10000'.padStart(8)} ms   ratio ${(wallMs / 10_000).toFixed(2)}×`,
    );
  } finally {
    cli('sandbox', 'stop', '--dir', dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchGradual();

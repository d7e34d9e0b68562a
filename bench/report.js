// The reports' figures (issue #15), each against a baseline measured in the same run, on a sandbox
// under simulated traffic: what sampling the metrics beside a run costs the headline command
// (`flag --all --yes` with sampling against `--sample-every off`), what one background sample
// costs inside the CLI (the interval's end → its line in metrics.jsonl, `took_ms`) against a bare curl of the
// same endpoint, and what drawing report.html costs (`report RUN --html`: vega loaded, four
// charts rendered to SVG) against `report RUN` (Markdown only) and a bare `node -e 0`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function timed(command, args) {
  const started = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.slice(0, 3).join(' ')} exited ${result.status}: ${result.stderr.slice(-400)}`);
  return { ms, stdout: result.stdout };
}

function row(name, measured, baselineName, baseline) {
  console.log(
    `${name.padEnd(44)} ${measured.toFixed(1).padStart(8)} ms   ${baselineName.padEnd(28)} ${baseline.toFixed(1).padStart(8)} ms   ratio ${(measured / baseline).toFixed(2)}×`,
  );
}

export async function benchReport() {
  const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-report-'));
  try {
    const info = JSON.parse(
      spawnSync(node, [BIN, 'sandbox', 'start', '--dir', dir, '--traffic', '40', '--json'], { encoding: 'utf8' }).stdout,
    );
    const config = ['--config', info.config];
    const forward = () => timed(node, [BIN, 'flag', '--all', '--enable', '--yes', ...config]);
    const back = (extra) => {
      forward();
      return timed(node, [BIN, 'flag', '--all', '--yes', '--json', ...extra, ...config]);
    };
    const sampled = [];
    const plain = [];
    let lastRun;
    for (let i = 0; i < 7; i++) {
      plain.push(back(['--sample-every', 'off']).ms);
      const run = back([]);
      sampled.push(run.ms);
      lastRun = JSON.parse(run.stdout);
    }
    row('flag --all --yes, metrics sampled', median(sampled), 'the same, --sample-every off', median(plain));

    // One background sample: from the interval's end to its line in metrics.jsonl (`took_ms`).
    const observed = back(['--observe', '20s']);
    const journal = JSON.parse(observed.stdout).journal;
    const costs = readFileSync(join(dirname(journal), 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => !e.error && e.took_ms !== undefined)
      .map((e) => e.took_ms);
    const token = readFileSync(info.token_file, 'utf8').trim();
    const url = `${info.base_url}/api/admin/trimp-performance-metrics?window=1.00`;
    const curls = Array.from({ length: costs.length }, () => timed('curl', ['-sf', url, '-H', `Authorization: Bearer ${token}`]).ms);
    row(`one background sample (n=${costs.length}, written)`, median(costs), 'a bare curl of the endpoint', median(curls));

    const id = lastRun.run_id;
    const html = [];
    const md = [];
    const bare = [];
    for (let i = 0; i < 7; i++) {
      md.push(timed(node, [BIN, 'report', id, ...config]).ms);
      html.push(timed(node, [BIN, 'report', id, '--html', ...config]).ms);
      bare.push(timed(node, ['-e', '0']).ms);
    }
    const page = join(dirname(lastRun.journal), 'report.html');
    row('report RUN --html (4 charts)', median(html), 'report RUN (Markdown only)', median(md));
    row('report RUN --html (4 charts)', median(html), 'node -e 0', median(bare));
    console.log(`report.html: ${(statSync(page).size / 1024).toFixed(0)} KiB, self-contained`);
  } finally {
    spawnSync(node, [BIN, 'sandbox', 'stop', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchReport();

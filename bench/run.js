#!/usr/bin/env node
// npm run bench: wall-clock figures with a baseline measured in the same run, printed as ratios.
// Not a test: nothing here passes or fails; it tells how fast the real thing is on this machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
    'flag --all --yes (assess, set, verify, health)',
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

#!/usr/bin/env node
// `npm run test:reliability [-- --sample] [--crash-seed S] [--fuzz-seed S]`: the reliability
// families with more cases than CI runs (--sample: CI's counts), each counting what it tried and
// what held (test/helpers/reliability.ts); then docs/reliability.json and docs/RELIABILITY.md are
// written from those counts. A family that did not hold still gets its row, with what replays it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderTable } from './table.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: { sample: { type: 'boolean', default: false }, 'crash-seed': { type: 'string' }, 'fuzz-seed': { type: 'string' } },
});
const sample = values.sample;
const seeds = {
  crash: Number(values['crash-seed'] ?? Math.floor(Math.random() * 2 ** 31)),
  fuzz: Number(values['fuzz-seed'] ?? Math.floor(Math.random() * 2 ** 31)),
};
// Full: 100 kills per crash harness; 2,000 runs for each of the 6 fuzz properties (12,000 cases).
const families = [
  { files: ['test/crash'], env: { TRIMP_CRASH_KILLS: sample ? '8' : '100', TRIMP_CRASH_SEED: String(seeds.crash) } },
  { files: ['test/unit/fuzz.test.ts'], env: { TRIMP_FUZZ_RUNS: sample ? '400' : '2000', TRIMP_FUZZ_SEED: String(seeds.fuzz) } },
];

const scratch = mkdtempSync(join(tmpdir(), 'trimp-reliability-'));
const out = join(scratch, 'cases.jsonl');
writeFileSync(out, '');
let exitCode = 0;
try {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  for (const family of families) {
    const result = spawnSync('npx', ['vitest', 'run', ...family.files], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...family.env, TRIMP_RELIABILITY_OUT: out },
    });
    if (result.status !== 0) exitCode = 1;
  }
  const parts = readFileSync(out, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout.trim();
  const report = {
    generated_at: new Date().toISOString(),
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    mode: sample ? 'sample' : 'full',
    seeds,
    parts,
  };
  writeFileSync(join(root, 'docs', 'reliability.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(root, 'docs', 'RELIABILITY.md'), renderTable(report));
  const total = parts.reduce((n, p) => n + p.cases, 0);
  const held = parts.reduce((n, p) => n + p.held, 0);
  console.log(
    `\nreliability: ${held} of ${total} cases held; docs/RELIABILITY.md written (${report.mode}, commit ${report.commit.slice(0, 12)})`,
  );
  if (held !== total) exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);

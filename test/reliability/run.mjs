#!/usr/bin/env node
// `npm run test:reliability [-- --only crash,soak] [--sample] [--seed S]`: the reliability
// families with more cases than CI runs (--sample: CI's counts). Each family counts what it tried
// and what held (test/helpers/reliability.ts); its entry in docs/reliability.json is replaced by
// this run's, with the commit and date it ran at, and docs/RELIABILITY.md is rendered from the
// whole file. A family that did not hold still gets its rows, with what replays each case.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FAMILIES, renderTable } from './table.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: { sample: { type: 'boolean', default: false }, only: { type: 'string' }, seed: { type: 'string' } },
});
const sample = values.sample;
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const full = (sampled, counted) => (sample ? sampled : counted);
// What each family runs, and how many cases a full run asks of it.
const plans = {
  crash: {
    files: ['test/crash'],
    env: {
      TRIMP_CRASH_KILLS: full('4', '100'),
      TRIMP_SCENARIO_KILLS: full('1', '25'),
      TRIMP_CRASH_SIGNALS: full('sample', 'both'),
      TRIMP_CRASH_SEED: String(seed),
    },
  },
  faults: { files: ['test/reliability/faults.test.ts'], env: { TRIMP_FAULTS: full('sample', 'all'), TRIMP_FAULT_SEED: String(seed) } },
  // 2,000 runs for each of the generated-input properties: at least 10,000 cases in all.
  fuzz: {
    files: ['test/unit/fuzz.test.ts', 'test/reliability/cli-fuzz.test.ts'],
    env: { TRIMP_FUZZ_RUNS: full('400', '2000'), TRIMP_FUZZ_SEED: String(seed) },
  },
  secrets: { files: ['test/reliability/secrets-sweep.test.ts'], env: { TRIMP_SECRETS: full('sample', 'all') } },
  soak: { files: ['test/reliability/soak.test.ts'], env: { TRIMP_SOAK_RUNS: full('1', '100'), TRIMP_SOAK_ALL: full('0', '1') } },
};
const chosen = values.only ? values.only.split(',') : FAMILIES.map(([name]) => name);
for (const name of chosen) {
  if (!plans[name]) {
    console.error(`test:reliability: no family "${name}" — the families are ${Object.keys(plans).join(', ')}`);
    process.exit(2);
  }
}

const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout.trim();
const jsonFile = join(root, 'docs', 'reliability.json');
const previous = existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, 'utf8')) : { families: [] };
const report = { families: Array.isArray(previous.families) ? previous.families : [] };

const scratch = mkdtempSync(join(tmpdir(), 'trimp-reliability-'));
let exitCode = 0;
try {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`the build failed (exit ${build.status})`);
  for (const family of chosen) {
    const out = join(scratch, `${family}.jsonl`);
    writeFileSync(out, '');
    // The commit is taken before the family runs: it is the code that was tested.
    const started = new Date();
    const commit = git('rev-parse', 'HEAD');
    // Untracked files count too (a new test that is not committed is not in the commit named);
    // the two files this runner writes do not.
    const dirty = git('status', '--porcelain', '--', '.', ':!docs/reliability.json', ':!docs/RELIABILITY.md') !== '';
    const result = spawnSync('npx', ['vitest', 'run', ...plans[family].files], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...plans[family].env, TRIMP_RELIABILITY_OUT: out },
    });
    if (result.status !== 0) exitCode = 1;
    const lines = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const recorded = lines.filter((l) => !l.planned);
    const keyOf = (l) => l.key ?? l.part;
    // A part that said it would run and never recorded did not finish: it counts, as not held.
    const unfinished = lines
      .filter((l) => l.planned && !recorded.some((r) => keyOf(r) === keyOf(l)))
      .map(({ planned, ...l }) => ({
        ...l,
        held: 0,
        failed: [
          `did not finish: the part ended before it recorded its counts (a timeout, a kill or a failed setup; vitest exit ${result.status ?? result.signal})`,
        ],
      }));
    const parts = [...recorded, ...unfinished].map(({ key, ...p }) => p);
    const entry = {
      family,
      mode: sample ? 'sample' : 'full',
      seed,
      commit,
      dirty,
      started_at: started.toISOString(),
      duration_s: Math.round((Date.now() - started.getTime()) / 1000),
      parts,
    };
    report.families = [...report.families.filter((f) => f.family !== family), entry];
    writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(root, 'docs', 'RELIABILITY.md'), renderTable(report));
    const total = parts.reduce((n, p) => n + p.cases, 0);
    const held = parts.reduce((n, p) => n + p.held, 0);
    console.log(`\nreliability: ${family}: ${held} of ${total} cases held (${entry.mode}, commit ${commit.slice(0, 12)}, seed ${seed})`);
    if (held !== total || parts.length === 0) exitCode = 1;
  }
} catch (error) {
  console.error(`test:reliability: ${error.message}`);
  exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);

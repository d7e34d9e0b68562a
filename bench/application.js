// The application scenario's figure (issue #10): `application --yes` against a sandbox whose
// release 1.2.0 fails /health, against a bare stop + git checkout + start of the same server,
// measured in the same run. Not in CI.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const BIN = fileURLToPath(new URL('../bin/trimp-rollback.js', import.meta.url));
const node = process.execPath;
const cli = (...args) => spawnSync(node, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const alive = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** What an operator would type without the tool: kill, git checkout, start, poll /health. */
async function bareRollback(dir, baseUrl, argv) {
  const started = performance.now();
  const pid = Number(readFileSync(join(dir, 'sandbox.pid'), 'utf8'));
  process.kill(pid, 'SIGTERM');
  while (alive(pid)) await sleep(5);
  spawnSync('git', ['-C', join(dir, 'app'), 'checkout', '--quiet', '--detach', 'HEAD~1']);
  // Through a shell that exits at once: the server is not this process's child (nobody here could reap it).
  spawn('sh', ['-c', '"$@" >/dev/null 2>&1 &', 'sh', ...argv], { stdio: 'ignore' }).unref();
  for (;;) {
    const ok = await fetch(`${baseUrl}/health`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    await sleep(10);
  }
  return performance.now() - started;
}

export async function benchApplication() {
  console.log('\n# application scenario (issue #10)');
  const dir = mkdtempSync(join(tmpdir(), 'trimp-bench-app-'));
  try {
    const info = JSON.parse(cli('sandbox', 'start', '--dir', dir, '--json').stdout);
    const argv = parse(readFileSync(info.config, 'utf8')).target.app.start;
    const ours = [];
    const bare = [];
    for (let i = 0; i < 3; i++) {
      cli('sandbox', 'break', '--dir', dir, 'bad-deploy');
      const started = performance.now();
      const run = cli('application', '--yes', '--config', info.config);
      if (run.status !== 0) throw new Error(`application --yes exited ${run.status}: ${run.stdout.slice(-800)}`);
      ours.push(performance.now() - started);
      cli('sandbox', 'heal', '--dir', dir);
      cli('sandbox', 'break', '--dir', dir, 'bad-deploy');
      bare.push(await bareRollback(dir, info.base_url, argv));
      cli('sandbox', 'heal', '--dir', dir);
    }
    const [a, b] = [median(ours), median(bare)];
    console.log(
      `${'application --yes (9 steps, backup + validation)'.padEnd(44)} ${`${(a / 1000).toFixed(2)} s`.padStart(10)}   ${'kill + git checkout + start'.padEnd(28)} ${`${(b / 1000).toFixed(2)} s`.padStart(10)}   ratio ${(a / b).toFixed(2)}× (goal ≤ 10 s: ${a <= 10_000 ? 'met' : 'NOT met'}); runs ${ours.map((x) => (x / 1000).toFixed(2)).join(', ')} s`,
    );
  } finally {
    cli('sandbox', 'stop', '--dir', dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchApplication();

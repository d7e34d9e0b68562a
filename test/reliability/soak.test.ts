/**
 * The soak: `rehearse` run again and again, each run a real CLI process that starts sandboxes,
 * breaks them, rolls them back and tears them down. After every run nothing of it may be left:
 * no process (each child inherits the soak's own TMPDIR, so every descendant is found in
 * /proc, even one that was re-parented), no port still listening, no file or lock in that
 * TMPDIR. The CLI's peak memory (VmHWM) must stay flat from the first runs to the last.
 * CI runs one plain `rehearse` (the flag game day: leaks only; memory needs many runs); `npm run test:reliability` runs
 * `rehearse --all` 100 times (TRIMP_SOAK_RUNS, TRIMP_SOAK_ALL).
 */
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { planCases, recordCases } from '../helpers/reliability.js';
import { processesWith } from '../helpers/scenarios.js';

const RUNS = Number(process.env.TRIMP_SOAK_RUNS ?? 1);
const ALL = process.env.TRIMP_SOAK_ALL === '1';
const ARGS = ALL ? ['rehearse', '--all'] : ['rehearse'];

const soakTmp = mkdtempSync(join(tmpdir(), 'trimp-soak-'));
afterAll(() => rmSync(soakTmp, { recursive: true, force: true }));

/** Processes that carry the soak's TMPDIR: the CLI's descendants, wherever they were re-parented. */
const processesOfTheSoak = () => processesWith(soakTmp);

/** The loopback ports still in LISTEN state, of those given (/proc/net/tcp and tcp6, state 0A). */
function listening(ports: number[]): number[] {
  const open = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local) open.add(Number.parseInt(local.split(':').pop() ?? '', 16));
    }
  }
  return ports.filter((port) => open.has(port));
}

/** Peak resident memory of a process so far, in KiB (VmHWM only grows: the last read is the peak). */
function peakKib(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function settled<T>(read: () => T[], ms = 3000): Promise<T[]> {
  // A child that is exiting may still be in /proc for a moment: give it a short grace.
  const until = Date.now() + ms;
  let left = read();
  while (left.length > 0 && Date.now() < until) {
    await sleep(100);
    left = read();
  }
  return left;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

planCases({ family: 'soak', key: 'leaks', part: `${ARGS.join(' ')}, run ${RUNS} times in a row`, cases: RUNS });
if (RUNS >= 10) planCases({ family: 'soak', key: 'memory', part: `${ARGS.join(' ')}: the CLI's memory`, cases: 1 });

describe(`soak: ${ARGS.join(' ')} ${RUNS} times in a row`, () => {
  it('the leak detectors see a process and a port that are left (so that their silence means something)', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const sleeper = execa('sleep', ['60'], { env: { TMPDIR: soakTmp }, reject: false });
    try {
      await sleep(200);
      expect(processesOfTheSoak().join('\n')).toContain(`${sleeper.pid} sleep 60`);
      expect(listening([port])).toEqual([port]);
    } finally {
      sleeper.kill('SIGKILL');
      await sleeper;
      server.close();
    }
    expect(await settled(processesOfTheSoak)).toEqual([]);
  });

  it('leaves no process, port, file or lock after any run, and the CLI memory stays flat', async () => {
    const peaks: number[] = [];
    const failed: string[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const child = execa(process.execPath, [BIN, ...ARGS], {
        reject: false,
        stdin: 'ignore',
        cwd: soakTmp,
        env: { NO_COLOR: '1', TMPDIR: soakTmp },
        timeout: 600_000,
      });
      let peak = 0;
      const poll = setInterval(() => {
        peak = Math.max(peak, peakKib(child.pid ?? 0) ?? 0);
      }, 200);
      const result = await child;
      clearInterval(poll);
      peaks.push(peak);
      const output = `${result.stdout}\n${result.stderr}`;
      const ports = [...new Set([...output.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])))];
      const problems = [
        result.exitCode === 0 ? '' : `exit ${result.exitCode ?? result.signal}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        ports.length > 0 ? '' : 'no sandbox port was printed, so none could be checked',
        ...(await settled(processesOfTheSoak)).map((p) => `process left: ${p}`),
        ...(await settled(() => listening(ports))).map((p) => `port ${p} still listening`),
        ...readdirSync(soakTmp).map((name) => `left in TMPDIR: ${name}`),
      ].filter(Boolean);
      if (problems.length > 0) failed.push(`run ${run}: ${problems.join('; ')}`);
      // Whatever one run left is said once, then cleared: it must not be blamed on the next run.
      for (const p of processesOfTheSoak()) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
      // Whatever one run left must not be blamed on the next.
      for (const name of readdirSync(soakTmp)) rmSync(join(soakTmp, name), { recursive: true, force: true });
      process.stderr.write(
        `soak run ${run}/${RUNS}: exit ${result.exitCode}, CLI peak ${Math.round(peak / 1024)} MiB${problems.length ? `, ${problems.length} problem(s)` : ''}\n`,
      );
    }
    // Memory: the median peak of the last tenth of the runs against the first tenth (at least one each).
    const tenth = Math.max(1, Math.floor(RUNS / 10));
    const first = median(peaks.slice(0, tenth));
    const last = median(peaks.slice(-tenth));
    // Flat: no run above a fixed budget (each run is a new process: a leak inside one shows in its
    // own peak), and no drift from the first runs to the last (something that accumulates between
    // runs, in $HOME or the state they leave, would).
    const BUDGET_KIB = 256 * 1024;
    const flat = last <= first * 1.2 + 8 * 1024 && peaks.every((p) => p <= BUDGET_KIB);
    const memory = `CLI peak memory (budget 256 MiB): first ${tenth} run(s) median ${Math.round(first / 1024)} MiB, last ${tenth} ${Math.round(last / 1024)} MiB, highest ${Math.round(Math.max(...peaks) / 1024)} MiB`;
    recordCases({
      family: 'soak',
      key: 'leaks',
      part: `${ARGS.join(' ')}, run ${RUNS} times in a row: no process, port, file or lock left after a run`,
      cases: RUNS,
      held: RUNS - new Set(failed.map((f) => f.split(':')[0])).size,
      failed,
    });
    // A memory trend needs runs to compare: the CI sample's one run says nothing about it.
    if (RUNS >= 10)
      recordCases({
        family: 'soak',
        key: 'memory',
        part: `${ARGS.join(' ')}: the CLI's memory from the first runs to the last (${memory})`,
        cases: 1,
        held: flat ? 1 : 0,
        failed: flat ? [] : [`grew: ${memory}`],
      });
    process.stderr.write(`soak: ${memory}\n`);
    expect(failed).toEqual([]);
    expect(flat, memory).toBe(true);
    expect(peaks.every((p) => p > 0)).toBe(true);
  }, 14_400_000);
});

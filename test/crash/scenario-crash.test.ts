/**
 * The crash matrix over the scenarios that change the flag and the running release: `flag --all`,
 * `gradual` (every cohort failing, so all three stages run) and `application` (after a bad
 * deploy), each SIGKILLed and SIGINTed at seeded moments of a calibrated run, and `database`
 * SIGINTed (its SIGKILLs are in database-crash.test.ts). After each signal, before anything else
 * touches the target:
 * - the world is what the journal says: a flag state or a release that the journal says was
 *   changed is changed, one it says was not reached is not (a step in flight may be either);
 * - after SIGINT the run ended by SIGINT (or had finished) and released both locks;
 * then `resume` (or a new run, if none had begun) completes, the world is the rolled-back one, no
 * process of the run is left once the sandbox stops, and no temporary file is left.
 * CI runs a sample (flag SIGKILL, application and database SIGINT); `npm run test:reliability` runs
 * both signals, TRIMP_SCENARIO_KILLS cases each (TRIMP_CRASH_SIGNALS=both).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { randomSource } from '../../src/sandbox/seed.js';
import { cli, spawnCli } from '../helpers/cli.js';
import { planCases, recordCases } from '../helpers/reliability.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { journalIn, processesWith, SCENARIOS, type Scenario } from '../helpers/scenarios.js';

const KILLS = Number(process.env.TRIMP_SCENARIO_KILLS ?? 1);
const SEED = Number(process.env.TRIMP_CRASH_SEED ?? 20261129);

/** Temporary files a run may make beside the database or in the state directory, left behind. */
function temporaryFiles(sb: TestSandbox): string[] {
  const look = (dir: string) => (existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : []);
  return [...look(sb.dir), ...look(sb.stateDir), ...look(join(sb.dir, 'backups'))].filter((path) =>
    /\.trimp-stage-|\.tmp$|\.partial$|-lock$|lock\.json$|\.trimp-rollback-lock$/.test(path),
  );
}

// The full matrix: both signals for each scenario. CI's sample: one signal each, half of each kind.
const BOTH = process.env.TRIMP_CRASH_SIGNALS === 'both';
// (gradual, the slowest, is left to the reliability run.)
const SAMPLE: Record<string, 'SIGKILL' | 'SIGINT'> = { 'flag --all': 'SIGKILL', application: 'SIGINT', database: 'SIGINT' };
const plans: { scenario: Scenario; signal: 'SIGKILL' | 'SIGINT' }[] = SCENARIOS.flatMap((scenario) =>
  (scenario.name === 'database' ? (['SIGINT'] as const) : (['SIGKILL', 'SIGINT'] as const))
    .filter((signal) => BOTH || SAMPLE[scenario.name] === signal)
    .map((signal) => ({ scenario, signal })),
);

/** How long one undisturbed run of each scenario takes here, measured once: the signals fall within it. */
const calibrated = new Map<string, Promise<number>>();
function runLength(scenario: Scenario): Promise<number> {
  if (!calibrated.has(scenario.name))
    calibrated.set(
      scenario.name,
      (async () => {
        const sb = await startTestSandbox('trimp-crash-calibrate-', scenario.traffic ? { traffic: scenario.traffic } : {});
        try {
          const before = await scenario.prepare(sb);
          const started = performance.now();
          const whole = await cli([...scenario.args, '--config', sb.config], { timeoutMs: 120_000 });
          const ms = performance.now() - started;
          expect(whole.exitCode, whole.stdout + whole.stderr).toBe(0);
          expect(await scenario.rolledBack(sb, before)).toEqual([]);
          return ms;
        } finally {
          await sb.remove();
        }
      })(),
    );
  return calibrated.get(scenario.name) as Promise<number>;
}

describe('the crash checks see a world that disagrees with its journal', () => {
  it('a flag turned back on behind a finished run, and a release checked out behind one', async () => {
    const sb = await startTestSandbox('trimp-crash-selfcheck-');
    try {
      const [flag, application] = [SCENARIOS[0] as Scenario, SCENARIOS[2] as Scenario];
      expect((await cli(['flag', '--all', '--yes', '--config', sb.config])).exitCode).toBe(0);
      const events = journalIn(sb.stateDir)?.events ?? [];
      expect(await flag.truth(sb, events, {})).toEqual([]);
      expect((await cli(['flag', '--user-type', 'regular', '--enable', '--yes', '--config', sb.config])).exitCode).toBe(0);
      expect(await flag.truth(sb, events, {})).toEqual(['flag regular is on, the journal says off']);
      expect(await flag.rolledBack(sb, {})).toEqual(['flag regular still on after the run completed']);

      rmSync(join(sb.stateDir, 'runs'), { recursive: true, force: true });
      const before = await application.prepare(sb);
      expect((await cli(['application', '--yes', '--config', sb.config])).exitCode).toBe(0);
      const deployed = journalIn(sb.stateDir)?.events ?? [];
      expect(await application.truth(sb, deployed, before)).toEqual([]);
      await execa('git', ['-C', join(sb.dir, 'app'), 'checkout', '-q', 'HEAD@{1}']);
      expect((await application.truth(sb, deployed, before)).join()).toMatch(/the journal says deployed, the checkout is at/);
      await sb.stop();
      expect((await application.truth(sb, deployed, before)).join()).toMatch(/the journal says the app runs, it does not answer/);
    } finally {
      await sb.remove();
    }
  });
});

describe(`every scenario signalled at random moments (${KILLS} per scenario and signal, seed ${SEED})`, () => {
  for (const { scenario, signal } of plans) {
    planCases({ family: 'crash', key: `${scenario.name} ${signal}`, part: `${scenario.name} (SQLite), ${signal}`, cases: KILLS });
    it(`${scenario.name}, ${signal}: the world is what the journal says, resume completes, nothing is left`, async () => {
      const next = randomSource(SEED + scenario.name.length * 31 + signal.length);
      const windowMs = await runLength(scenario);

      const failed: string[] = [];
      let landed = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const delay = Math.round(next() * windowMs);
        const where = `${signal} ${kill} at ${delay} ms (seed ${SEED})`;
        const sb = await startTestSandbox('trimp-crash-scenario-', scenario.traffic ? { traffic: scenario.traffic } : {});
        const tmp = mkdtempSync(join(tmpdir(), 'trimp-crash-tmp-'));
        try {
          const before = await scenario.prepare(sb);
          const child = spawnCli([...scenario.args, '--config', sb.config], { env: { TMPDIR: tmp } });
          await Promise.race([sleep(delay), child]);
          child.kill(signal);
          const result = await child;
          const problems: string[] = [];
          const journal = journalIn(sb.stateDir);
          if (signal === 'SIGINT') {
            if (result.signal !== 'SIGINT' && result.exitCode !== 0)
              problems.push(
                `ended by ${result.signal ?? `exit ${result.exitCode}`}, not by SIGINT: ${String(result.stderr).trim().split('\n').at(-1)}`,
              );
            if (existsSync(join(sb.stateDir, 'lock.json')) || existsSync(`${sb.database}.trimp-rollback-lock`))
              problems.push('a lock was left after SIGINT');
            // The run's own last word (a notification that failed after it may follow).
            const last = journal?.events.filter((e) => e.type.startsWith('run.')).at(-1)?.type;
            if (journal && journal.events.length > 0 && last !== 'run.interrupted' && last !== 'run.finished')
              problems.push(`the journal ends with ${last}, not with the interruption`);
          }
          problems.push(...(await scenario.truth(sb, journal?.events ?? [], before)));

          // What the journal says decides what comes next: nothing (it finished), resume, or a new run.
          const finished = journal?.events.some((e) => e.type === 'run.finished' && e.status === 'succeeded');
          if (!finished) landed++;
          if (!finished) {
            const next = journal?.events.some((e) => e.type === 'run.started')
              ? await cli(['resume', '--yes', '--config', sb.config], { env: { TMPDIR: tmp }, timeoutMs: 120_000 })
              : await cli([...scenario.args, '--config', sb.config], { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
            if (next.exitCode !== 0)
              problems.push(`${journal ? 'resume' : 'a new run'} exited ${next.exitCode}: ${next.stderr.trim().split('\n').at(-1)}`);
          }
          problems.push(...(await scenario.rolledBack(sb, before)));
          problems.push(...temporaryFiles(sb).map((path) => `left behind: ${path}`));
          // Before the sandbox is stopped (its stop kills every server of the directory): of the
          // processes the runs started, only the app in the PID file may still run.
          const pidFile = join(sb.dir, 'sandbox.pid');
          const app = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim().split(/\s+/) : [];
          const orphans = () => processesWith(tmp).filter((p) => !app.includes(p.split(' ')[0] as string));
          for (let wait = 0; wait < 50 && orphans().length > 0; wait++) await sleep(100);
          problems.push(...orphans().map((p) => `process left beside the app: ${p}`));
          await sb.stop();
          for (let wait = 0; wait < 50 && processesWith(tmp).length > 0; wait++) await sleep(100);
          problems.push(...processesWith(tmp).map((p) => `process left after the app stopped: ${p}`));
          if (readdirSync(tmp).length > 0) problems.push(`left in TMPDIR: ${readdirSync(tmp).join(', ')}`);
          if (problems.length > 0) failed.push(`${where}: ${problems.join('; ')}`);
        } catch (error) {
          failed.push(`${where}: ${(error as Error).message.split('\n')[0]}`);
        } finally {
          for (const p of processesWith(tmp)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
          await sb.remove();
          rmSync(tmp, { recursive: true, force: true });
        }
      }
      recordCases({
        family: 'crash',
        key: `${scenario.name} ${signal}`,
        part: `${scenario.name} (SQLite), ${signal} (${landed} of ${KILLS} before the run had finished)`,
        cases: KILLS,
        held: KILLS - failed.length,
        failed,
      });
      expect(failed).toEqual([]);
    }, 1_800_000);
  }
});

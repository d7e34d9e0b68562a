import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson, spawnCli, stepOf as step } from '../helpers/cli.js';
import { forwardTo, startHostileServer } from '../helpers/hostile-server.js';
import { type JournalLine, journalEvents } from '../helpers/processes.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The gradual rollback against the sandbox: a real process with its simulated users (60
 * requests/s, every cohort a share), the trimp-errors fault on chosen cohorts, and windows
 * shortened to 4 s sampled every second (the runbook's conditions need 20 requests per user type
 * in a window: admin, the smallest share, sends about 48).
 */
const WINDOW = ['--window', '4s', '--interval', '1s'];

let busy: TestSandbox;
let idle: TestSandbox;

beforeAll(async () => {
  [busy, idle] = await Promise.all([startTestSandbox('trimp-gradual-', { traffic: 60 }), startTestSandbox('trimp-gradual-idle-')]);
});
afterAll(async () => {
  await Promise.all([busy?.remove(), idle?.remove()]);
});
beforeEach(async () => {
  for (const sb of [busy, idle]) {
    expect((await cli(['sandbox', 'heal', '--dir', sb.dir])).exitCode).toBe(0);
    // Set up through the app's own API (a flag run with nothing to change would judge the last minute's errors).
    const enabled = await fetch(`${sb.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sb.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true }),
    });
    expect(enabled.status).toBe(200);
    expect(await sb.flags()).toEqual({ admin: true, beta: true, regular: true });
  }
});

async function breakFor(sb: TestSandbox, userTypes?: string): Promise<void> {
  const args = ['sandbox', 'break', 'trimp-errors', '--dir', sb.dir, ...(userTypes ? ['--user-types', userTypes] : [])];
  expect((await cli(args)).exitCode).toBe(0);
}

async function gradual(sb: TestSandbox, ...args: string[]) {
  const result = await cli(['gradual', ...WINDOW, '--yes', '--json', '--config', sb.config, ...args]);
  return { result, run: jsonOf<RunJson>(result) };
}

/** Samples journaled so far (0 while the journal's last line is still being written). */
function samplesIn(path: string): number {
  try {
    return observed(journalEvents(path), 'monitor_sample').length;
  } catch {
    return 0;
  }
}

const observed = (events: JournalLine[], name: string) => events.filter((e) => e.type === 'step.observed' && e.name === name);

describe('gradual rollback against the sandbox (real process, real traffic)', () => {
  it('recovers at the first stage when only regular users are hit: beta and admin are never touched', async () => {
    await breakFor(busy, 'regular');
    const result = await cli(['gradual', ...WINDOW, '--yes', '--reason', 'errors for regular users', '--config', busy.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/: SUCCEEDED/);
    for (const id of ['stage-2', 'watch-2', 'stage-3', 'watch-3'])
      expect(result.stdout).toMatch(
        new RegExp(`${id}\\s+skipped\\s+not needed: recovered after the regular stage; admin, beta keep the enhanced calculation`),
      );
    // The summary says who still has the enhanced calculation, and how to finish or undo, on this target.
    expect(result.stdout).toMatch(/\nStill on the enhanced TRIMP calculation: admin, beta\.\n/);
    expect(result.stdout).toMatch(/\nFinish the rollback for them: trimp-rollback flag --user-type admin,beta --config \S+ --yes\n/);
    expect(result.stdout).toMatch(/\nUndo: trimp-rollback flag restore --run \S+ --config \S+ --yes\n/);
    expect(await busy.flags()).toEqual({ admin: true, beta: true, regular: false });

    const events = journalEvents(/Journal: (\S+)/.exec(result.stdout)?.[1] as string);
    // Only regular was ever written; every sample of the window is journaled; the decision ends the run.
    expect(observed(events, 'flag_states_before').map((e) => e.data?.targets)).toEqual([{ regular: false }]);
    expect(observed(events, 'monitor_sample')).toHaveLength(4);
    expect(events.find((e) => e.type === 'step.finished' && e.step === 'watch-1')).toMatchObject({
      status: 'succeeded',
      ends_run: expect.stringMatching(/^recovered after the regular stage/),
      evidence: { decision: 'recovered', decided_by: 'evidence', still_enabled: ['admin', 'beta'] },
    });
    expect(events.some((e) => e.type === 'step.started' && e.step === 'stage-2')).toBe(false);
  });

  it('a run killed after a recovered window, before it ended, resumes as ended: no later stage runs', async () => {
    await breakFor(busy, 'regular');
    const { result, run } = await gradual(busy);
    expect(result.exitCode, result.stderr).toBe(0);
    // The journal as a kill between the window's verdict and the run's end leaves it (append-only, fsynced).
    const journal = run.journal as string;
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ type: 'run.finished' });
    writeFileSync(journal, `${lines.slice(0, -1).join('\n')}\n`);

    const resumed = await cli(['resume', run.run_id, '--yes', '--json', '--config', busy.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const again = jsonOf<RunJson>(resumed);
    expect(step(again, 'watch-1').status).toBe('done-before');
    for (const id of ['stage-2', 'watch-2', 'stage-3', 'watch-3'])
      expect(step(again, id)).toMatchObject({
        status: 'skipped',
        summary: expect.stringMatching(/^not needed: watch-1 found, in an earlier attempt/),
      });
    const events = journalEvents(journal);
    expect(observed(events, 'monitor_sample')).toHaveLength(4); // no new window
    expect(await busy.flags()).toEqual({ admin: true, beta: true, regular: false });
  });

  it('goes through all three stages when every cohort is hit, and the last window shows the recovery', async () => {
    await breakFor(busy);
    const result = await cli(['gradual', ...WINDOW, '--yes', '--config', busy.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /watch-1\s+succeeded\s+\S+ s\s+still failing: admin: error rate [\d.]+% on \d+ requests \(above 2\.0%\).*going on to stage 2 \(beta\)/,
    );
    expect(result.stdout).toMatch(/watch-2\s+succeeded\s+\S+ s\s+still failing: admin: error rate .*going on to stage 3 \(admin\)/);
    expect(result.stdout).toMatch(
      /watch-3\s+succeeded\s+\S+ s\s+recovered: every condition holds for admin \(\d+ requests\), beta \(\d+\), regular \(\d+\)/,
    );
    expect(result.stdout).toMatch(/No cohort has the enhanced TRIMP calculation now\./);
    expect(await busy.flags()).toEqual({ admin: false, beta: false, regular: false });
  });

  it('still failing after the last stage fails the run: the flag is not (only) the cause', async () => {
    await breakFor(busy, 'beta');
    const result = await cli(['gradual', ...WINDOW, '--stages', 'regular', '--yes', '--config', busy.config]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /watch-1\s+failed\s+\S+ s\s+still failing after the last stage: beta: error rate [\d.]+% on \d+ requests \(above 2\.0%\).*The enhanced calculation is off for regular, so it is not \(only\) the cause/,
    );
    expect(result.stdout).toMatch(/warning: look past the flag: an application rollback \(trimp-rollback application --dry-run\)/);
    expect(result.stdout).toMatch(/stage-2\s+skipped\s+left out: stage 2 is beyond the 1 stage asked for \(regular\)/);
    expect(await busy.flags()).toEqual({ admin: true, beta: true, regular: false });
  });

  it('a window with no traffic and no terminal is inconclusive: exit 1, the reason says how much it saw', async () => {
    await breakFor(idle, 'regular');
    const result = await cli(['gradual', '--window', '2s', '--interval', '1s', '--yes', '--config', idle.config]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /watch-1\s+failed\s+\S+ s\s+inconclusive window and no terminal to ask: too little traffic to judge admin \(0\), beta \(0\), regular \(0\): 20 requests needed in the window/,
    );
    expect(result.stdout).toMatch(/warning: nobody judged this window: resume the run on a terminal/);
    expect(result.stdout).toMatch(/Resume with: trimp-rollback resume \S+ --config \S+ --yes/);
    // Nothing after the undecided window ran.
    expect(result.stdout).toMatch(/stage-2\s+not-run/);
    expect(await idle.flags()).toEqual({ admin: true, beta: true, regular: false });
  });

  it('Ctrl-C during a window is never a pass: the run is interrupted, and resume watches a whole new window', async () => {
    await breakFor(busy, 'regular');
    const runsDir = join(busy.stateDir, 'runs');
    const runIds = () => (existsSync(runsDir) ? readdirSync(runsDir) : []);
    const before = new Set(runIds());
    const child = spawnCli(['gradual', '--window', '5s', '--interval', '1s', '--yes', '--json', '--config', busy.config]);
    let journal: string | undefined;
    // Interrupt once the window has taken two samples.
    for (let i = 0; i < 300 && !journal; i++) {
      await sleep(100);
      const newest = runIds().find((id) => !before.has(id));
      const path = newest && join(busy.stateDir, 'runs', newest, 'journal.jsonl');
      if (path && existsSync(path) && samplesIn(path) >= 2) journal = path;
    }
    expect(journal, 'the window never took two samples').toBeDefined();
    child.kill('SIGINT');
    const interrupted = await child;
    expect(interrupted.signal).toBe('SIGINT');
    // What the summary says is still on is read from the app, not inferred from the steps.
    expect(JSON.parse(String(interrupted.stdout)).next_steps).toEqual([
      'Still on the enhanced TRIMP calculation: admin, beta.',
      expect.stringMatching(/^Finish the rollback for them: trimp-rollback flag --user-type admin,beta --config \S+ --yes$/),
    ]);
    const first = journalEvents(journal as string);
    expect(first.find((e) => e.type === 'step.finished' && e.step === 'watch-1')).toMatchObject({
      status: 'interrupted',
      summary: expect.stringMatching(/^window 1 interrupted after \d of 5 samples: not judged \(resuming starts a new window\)$/),
    });
    expect(observed(first, 'monitor_decision')).toHaveLength(0);

    const runId = basename(dirname(journal as string));
    const resumed = await cli(['resume', runId, '--yes', '--json', '--config', busy.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const after = journalEvents(journal as string);
    const resumedAt = after.findIndex((e) => e.type === 'run.resumed');
    // A whole new window: five samples after the resume, then the decision.
    expect(observed(after.slice(resumedAt), 'monitor_sample')).toHaveLength(5);
    expect(observed(after.slice(resumedAt), 'monitor_decision').map((e) => e.data?.decision)).toEqual(['recovered']);
    expect(await busy.flags()).toEqual({ admin: true, beta: true, regular: false });
  });

  it('flag restore after stage 2 puts back exactly the cohorts the stages turned off', async () => {
    await breakFor(busy, 'regular,beta');
    const { result, run } = await gradual(busy);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(step(run, 'watch-1').evidence).toMatchObject({ decision: 'failing' });
    expect(step(run, 'watch-2').evidence).toMatchObject({ decision: 'recovered', still_enabled: ['admin'] });
    expect(step(run, 'stage-3').status).toBe('skipped');
    expect(await busy.flags()).toEqual({ admin: true, beta: false, regular: false });
    expect(run.undo_command).toMatch(new RegExp(`^trimp-rollback flag restore --run ${run.run_id} --config \\S+ --yes$`));

    expect((await cli(['sandbox', 'heal', '--dir', busy.dir])).exitCode).toBe(0);
    const restore = await cli(['flag', 'restore', '--run', run.run_id, '--yes', '--json', '--config', busy.config]);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(step(jsonOf<RunJson>(restore), 'set-flag').summary).toBe('beta: disabled → enabled; regular: disabled → enabled');
    expect(await busy.flags()).toEqual({ admin: true, beta: true, regular: true });
  });

  it('--fast skips every window and says so; --stages orders and limits the cohorts', async () => {
    const { result, run } = await gradual(busy, '--fast', '--stages', 'beta,regular');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(step(run, 'stage-1').summary).toBe('beta: enabled → disabled');
    expect(step(run, 'watch-1')).toMatchObject({
      status: 'skipped',
      warnings: [expect.stringMatching(/^--fast: this window was skipped/)],
    });
    expect(step(run, 'stage-3')).toMatchObject({
      status: 'skipped',
      summary: 'left out: stage 3 is beyond the 2 stages asked for (beta, regular)',
    });
    expect(await busy.flags()).toEqual({ admin: true, beta: false, regular: false });
    const events = journalEvents(run.journal as string);
    expect(observed(events, 'monitor_skipped').map((e) => e.data?.reason)).toEqual(['--fast', '--fast']);
    expect(observed(events, 'monitor_sample')).toHaveLength(0);
  });

  it('bad options are refused before anything runs (exit 2)', async () => {
    for (const [args, message] of [
      [['--stages', 'regular,regular'], /--stages: "regular" is named twice/],
      [['--stages', 'admins'], /--stages: unknown user type "admins"/],
      [['--stages', 'regular,,beta'], /--stages: an empty name in "regular,,beta"/],
      [['--window', '2h', '--interval', '1s'], /at most 3600 samples a window/],
      [['--window', '1s', '--interval', '5s'], /--window \(1s\) must be at least one --interval \(5s\) long/],
      [['--interval', 'soon'], /--interval must be a duration/],
      [['--via', 'db'], /--via db does not apply/],
    ] as const) {
      const result = await cli(['gradual', ...args, '--yes', '--config', busy.config]);
      expect(result.exitCode, String(args)).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('a gradual window against misleading figures', () => {
  it('metrics that ignore ?window= (overlapping samples) or have the wrong shape are never judged: exit 1, the reason named', async () => {
    const cases = [
      {
        answer: {
          performance_metrics: {
            system_metrics: { window_seconds: 60, requests: 900, errors: 0, error_rate: 0, latency_ms: { p50: 1, p95: 2, p99: 3 } },
          },
        },
        reason:
          /2 of 2 samples could not be read \(the metrics cover 60 s, not the 1\.0 s asked \(the app ignores \?window=\): samples would overlap\)/,
      },
      {
        answer: {
          performance_metrics: { system_metrics: { requests: 10, errors: 20, error_rate: 1, latency_ms: { p50: 1, p95: 2, p99: 3 } } },
        },
        reason: /2 of 2 samples could not be read \(the metrics endpoint answered an unexpected shape: .*more errors than requests/,
      },
      {
        answer: {
          performance_metrics: { system_metrics: { requests: 900, errors: 0, error_rate: 'low', latency_ms: { p50: 1, p95: 2, p99: 3 } } },
        },
        reason:
          /2 of 2 samples could not be read \(the metrics endpoint answered an unexpected shape: performance_metrics\.system_metrics\.error_rate/,
      },
    ];
    for (const { answer, reason } of cases) {
      const proxy = await startHostileServer(
        forwardTo(busy.baseUrl, (req, res) => {
          if (!req.url?.startsWith('/api/admin/trimp-performance-metrics?')) return false;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer));
          return true;
        }),
      );
      try {
        const result = await cli([
          'gradual',
          '--window',
          '2s',
          '--interval',
          '1s',
          '--yes',
          '--config',
          busy.config,
          '--base-url',
          proxy.url,
        ]);
        expect(result.exitCode).toBe(1);
        expect(result.stdout).toMatch(/watch-1\s+failed\s+\S+ s\s+inconclusive window and no terminal to ask: /);
        expect(result.stdout).toMatch(reason);
      } finally {
        await proxy.close();
      }
    }
  });

  it('a flag turned back on during the window (by someone else) fails the step: the window does not judge the stage', async () => {
    await breakFor(busy, 'regular');
    const runsDir = join(busy.stateDir, 'runs');
    const before = new Set(existsSync(runsDir) ? readdirSync(runsDir) : []);
    const child = spawnCli(['gradual', '--window', '3s', '--interval', '1s', '--yes', '--config', busy.config]);
    let sampled = false;
    for (let i = 0; i < 300 && !sampled; i++) {
      await sleep(100);
      const id = (existsSync(runsDir) ? readdirSync(runsDir) : []).find((r) => !before.has(r));
      sampled = id !== undefined && samplesIn(join(runsDir, id, 'journal.jsonl')) >= 1;
    }
    expect(sampled).toBe(true);
    const toggled = await fetch(`${busy.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`, {
      method: 'POST',
      headers: { authorization: `Bearer ${busy.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_type: 'regular', enabled: true }),
    });
    expect(toggled.status).toBe(200);
    const result = await child;
    expect(result.exitCode).toBe(1);
    expect(String(result.stdout)).toMatch(
      /watch-1\s+failed\s+\S+ s\s+the flag is on again for regular at the end of the window \(changed by someone else\?\): this window cannot judge the stages done \(regular\)/,
    );
  });
});

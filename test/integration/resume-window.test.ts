import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson, spawnCli, stepOf as step } from '../helpers/cli.js';
import { journalEvents } from '../helpers/processes.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-resume-window-', { traffic: 40 });
});
afterAll(async () => {
  await sandbox?.remove();
});

describe('a resumed run judges user traffic since the change an earlier attempt made', () => {
  it('not the last minute (which reaches back before the run)', async () => {
    const runbook = join(sandbox.dir, 'change-then-wait.yaml');
    writeFileSync(
      runbook,
      [
        'version: 1',
        'id: change-then-wait',
        'title: Change, wait, validate',
        'use_case: test',
        'impact: regular users on the average method',
        'budget: 5m',
        'steps:',
        '  - { id: set-flag, title: Regular off, action: flag.set, with: { states: { regular: false } } }',
        '  - { id: pause, title: Pause, action: wait, with: { duration: 20s } }',
        '  - { id: validate, title: Validate, action: validate, with: { checks: [user-errors] } }',
        '',
      ].join('\n'),
    );
    const runsDir = join(sandbox.stateDir, 'runs');
    const before = new Set(existsSync(runsDir) ? readdirSync(runsDir) : []);
    const child = spawnCli(['run', runbook, '--yes', '--config', sandbox.config]);
    let runId: string | undefined;
    for (let i = 0; i < 200 && !runId; i++) {
      await sleep(100);
      const id = (existsSync(runsDir) ? readdirSync(runsDir) : []).find((r) => !before.has(r));
      // Read while the run writes it: a line caught half-written is read again on the next look.
      const started = () =>
        journalEvents(join(runsDir, id as string, 'journal.jsonl')).some((e) => e.type === 'step.started' && e.step === 'pause');
      if (
        id &&
        (await Promise.resolve()
          .then(started)
          .catch(() => false))
      )
        runId = id;
    }
    expect(runId).toBeDefined();
    child.kill('SIGINT');
    expect((await child).signal).toBe('SIGINT');
    const changedAt = Date.parse(
      (
        journalEvents(join(runsDir, runId as string, 'journal.jsonl')).find(
          (e) => e.type === 'step.finished' && e.step === 'set-flag',
        ) as unknown as { ts: string }
      ).ts,
    );

    const resumed = await cli(['resume', runId as string, '--yes', '--json', '--config', sandbox.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const checks = step(jsonOf<RunJson>(resumed), 'validate').evidence?.checks as { name: string; evidence: { window_seconds: number } }[];
    const window = checks.find((c) => c.name === 'user-errors')?.evidence.window_seconds ?? 0;
    // From the change (before the interruption) to now: more than the resumed wait, less than a minute.
    expect(window).toBeGreaterThanOrEqual(20);
    expect(window).toBeLessThanOrEqual((Date.now() - changedAt) / 1000 + 1);
    expect(window).toBeLessThan(60);
  }, 90_000);
});

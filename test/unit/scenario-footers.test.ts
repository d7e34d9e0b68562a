import { describe, expect, it } from 'vitest';
import { appLeftStopped } from '../../src/commands/scenario-footers.js';
import type { RunResult } from '../../src/engine/result.js';

const run = (steps: [string, string, boolean?][], extra: Partial<RunResult> = {}): RunResult =>
  ({
    dry_run: false,
    resume_command: 'trimp-rollback resume R',
    undo_command: 'trimp-rollback database undo --run R',
    steps: steps.map(([action, status, noop]) => ({ action, status, ...(noop ? { noop } : {}) })),
    ...extra,
  }) as unknown as RunResult;

describe('a database run that leaves the app stopped says so', () => {
  it('stopped and not started again: the line names the ways back', () => {
    expect(
      appLeftStopped(
        run([
          ['app.stop', 'succeeded'],
          ['database.restore', 'failed'],
          ['app.start', 'not-run'],
        ]),
      ),
    ).toEqual([
      'The app is STOPPED: this run stopped it and did not start it again. Resume finishes the rollback; Undo puts back what ran before and starts the app.',
    ]);
    expect(
      appLeftStopped(
        run(
          [
            ['app.stop', 'warned'],
            ['app.start', 'failed'],
          ],
          { resume_command: null },
        ),
      )[0],
    ).toMatch(/STOPPED.* Undo puts/);
  });

  it('nothing to say when the app was started again, was never stopped by this run, or in a dry run', () => {
    expect(
      appLeftStopped(
        run([
          ['app.stop', 'succeeded'],
          ['app.start', 'succeeded'],
        ]),
      ),
    ).toEqual([]);
    expect(
      appLeftStopped(
        run([
          ['app.stop', 'succeeded', true],
          ['app.start', 'not-run'],
        ]),
      ),
    ).toEqual([]);
    expect(appLeftStopped(run([['app.stop', 'not-run']]))).toEqual([]);
    expect(appLeftStopped(run([['app.stop', 'succeeded']], { dry_run: true }))).toEqual([]);
  });

  it('in step order: stopped again after a start (a complete rollback) is stopped; a start interrupted while waiting for /health left it running', () => {
    const twice = run([
      ['app.stop', 'succeeded'],
      ['app.start', 'succeeded'],
      ['app.stop', 'succeeded'],
      ['database.restore', 'failed'],
      ['app.start', 'not-run'],
    ]);
    expect(appLeftStopped(twice)[0]).toMatch(/^The app is STOPPED/);
    const interrupted = {
      ...run([['app.stop', 'succeeded']]),
      steps: [
        { action: 'app.stop', status: 'succeeded' },
        { action: 'app.start', status: 'interrupted', evidence: { pid: 4242 } },
      ],
    } as unknown as RunResult;
    expect(appLeftStopped(interrupted)).toEqual([]);
  });
});

describe('a start that ran on one of several instances', () => {
  it('an interrupted start whose instance process is running is not "left stopped"', () => {
    const result = {
      dry_run: false,
      resume_command: 'trimp-rollback resume R',
      undo_command: null,
      steps: [
        { action: 'app.stop', status: 'succeeded' },
        { action: 'app.start', status: 'interrupted', evidence: { instances: [{ pid: 30534, healthy: true }] } },
      ],
    } as unknown as RunResult;
    expect(appLeftStopped(result)).toEqual([]);
    const none = { ...result, steps: [result.steps[0], { action: 'app.start', status: 'interrupted', evidence: { instances: [{}] } }] };
    expect(appLeftStopped(none as unknown as RunResult)[0]).toMatch(/^The app is STOPPED/);
  });
});

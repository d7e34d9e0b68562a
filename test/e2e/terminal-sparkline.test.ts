import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, jsonOf } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { Terminal } from '../helpers/tmux.js';

/**
 * The recent error rate as a sparkline, on a real terminal only (tmux, colours and spinners on):
 * in `status`, and on the live line of a gradual rollback's monitoring window. Piped, the same
 * commands print figures and no bars.
 */
let sandbox: TestSandbox;
let terminal: Terminal | undefined;
let runs = 0;

beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-spark-', { traffic: 40 });
  expect((await cli(['sandbox', 'break', 'trimp-errors', '--dir', sandbox.dir])).exitCode).toBe(0);
  // Let the fault show in a few seconds of traffic.
  await new Promise((resolve) => setTimeout(resolve, 3000));
});
afterAll(async () => {
  await sandbox?.remove();
});
afterEach(() => {
  terminal?.close();
});

function open(args: string): Terminal {
  // No NO_COLOR: a terminal as an operator has it, where spinners and colours are drawn.
  terminal = new Terminal(`${process.execPath} ${BIN} ${args} --config ${sandbox.config}`, join(sandbox.dir, `exit-${runs++}`));
  return terminal;
}

describe('the recent error rate as a sparkline', () => {
  it('status draws it on a terminal, and gives figures only when piped (and slices in JSON)', async () => {
    const t = open('status');
    expect(await t.exitCode()).toBe(0);
    const line =
      t
        .screen()
        .split('\n')
        .find((l) => l.startsWith('errors')) ?? '';
    expect(line).toMatch(
      /^errors {4}\d+\/\d+ requests failed in the last 60 s \(\d+\.\d%\) {2}[▁▂▃▄▅▆▇█ ]{10} \(6 s each, oldest first\)$/,
    );

    const piped = await cli(['status', '--config', sandbox.config]);
    expect(piped.exitCode).toBe(0);
    const plain = piped.stdout.split('\n').find((l) => l.startsWith('errors')) ?? '';
    expect(plain).toMatch(/^errors {4}\d+\/\d+ requests failed in the last 60 s \(\d+\.\d%\)$/);

    const json = await cli(['status', '--json', '--config', sandbox.config]);
    expect(json.exitCode).toBe(0);
    const recent = jsonOf<{ recent_errors: { requests: number; errors: number; slices: { requests: number; errors: number }[] } }>(
      json,
    ).recent_errors;
    expect(recent.slices).toHaveLength(10);
    expect(recent.errors).toBeGreaterThan(0);
    // The slices are differences of nested windows: together they are (at most) the whole minute.
    expect(recent.slices.reduce((n, s) => n + s.requests, 0)).toBeLessThanOrEqual(recent.requests);
    expect(recent.slices.reduce((n, s) => n + s.requests, 0)).toBeGreaterThan(0);
  });

  it("a gradual window's live line ends with the window's error rates so far, on a terminal", async () => {
    const t = open('gradual --window 4s --interval 1s --stages regular --yes');
    // The spinner's line: by the second sample, at least two bars after "so far".
    await t.waitFor(/sample [2-4]\/4: [^\n]*so far [▁▂▃▄▅▆▇█ ]{2,}/, 30_000);
    expect(await t.exitCode(30_000)).toBeLessThanOrEqual(1);
    const piped = await cli(['gradual', '--window', '2s', '--interval', '1s', '--stages', 'regular', '--yes', '--config', sandbox.config]);
    expect(piped.stderr).toMatch(/sample 2\/2: /);
    expect(piped.exitCode).toBeLessThanOrEqual(1);
    expect(piped.stderr).not.toMatch(/[▁▂▃▄▅▆▇█]/);
    // Two gradual runs with a window each, on a terminal and piped: on a loaded 2-core CI machine
    // that has taken over 30 s, so the test's own limit is the sum of its waits plus the piped run.
  }, 150_000);
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cli, ROOT } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { Terminal } from '../helpers/tmux.js';

let sandbox: TestSandbox;
let terminal: Terminal | undefined;
let runs = 0;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  expect((await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config])).exitCode).toBe(0);
});
afterEach(() => {
  terminal?.close();
});

function open(args: string): Terminal {
  terminal = new Terminal(`NO_COLOR=1 ${process.execPath} ${BIN} ${args} --config ${sandbox.config}`, join(sandbox.dir, `exit-${runs++}`));
  return terminal;
}

describe('an operator at a real terminal', () => {
  it('sees what will change and its blast radius, answers yes, and the rollback happens', async () => {
    const t = open('flag --all');
    const screen = await t.waitFor(/Proceed\? \[y\]es \/ \[N\]o \/ \[a\]ll \/ \[q\]uit:/);
    expect(screen).toContain(
      `POST ${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle {"user_type":"admin","enabled":false}`,
    );
    expect(screen).toMatch(
      /Blast radius:\n\s+enhanced_trimp_calculation via api:\n\s+admin: enabled → disabled\n\s+beta: enabled → disabled\n\s+regular: enabled → disabled/,
    );
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
    t.type('y', 'Enter');
    expect(await t.exitCode()).toBe(0);
    expect(t.screen()).toMatch(/SUCCEEDED/);
    expect(t.screen()).toMatch(/Undo: trimp-rollback flag restore --run \S+ --config \S+\n/);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  });

  it('Enter alone means no: the run ends DECLINED with exit 3, nothing changed, no resume line', async () => {
    const t = open('flag --user-type regular');
    const prompt = await t.waitFor(/Proceed\?/);
    expect(prompt).toMatch(/No ends the run here: the steps after this one need it\./);
    t.type('Enter');
    expect(await t.exitCode()).toBe(3);
    const screen = t.screen();
    expect(screen).toMatch(/: DECLINED/);
    expect(screen).toMatch(/set-flag\s+declined\s+declined by the operator; the steps after it need it, so the run ends here/);
    expect(screen).toMatch(/verify\s+not-run/);
    expect(screen).not.toMatch(/Resume with:|Undo:/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
  });

  it('an optional step may be declined and the run goes on', async () => {
    const t = open(`run ${join(ROOT, 'test/fixtures/runbooks/optional-step.yaml')}`);
    const prompt = await t.waitFor(/Proceed\?/);
    expect(prompt).toMatch(/This step is optional: No skips it and the run goes on\./);
    t.type('n', 'Enter');
    expect(await t.exitCode()).toBe(0);
    expect(t.screen()).toMatch(/beta-off\s+declined\s+declined by the operator; skipped \(an optional step\)/);
    expect(t.screen()).toMatch(/: SUCCEEDED/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
  });

  it('nothing to change: no prompt, and no Undo line', async () => {
    await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
    const t = open('flag --all');
    expect(await t.exitCode()).toBe(0);
    const screen = t.screen();
    expect(screen).not.toMatch(/Proceed\?/);
    expect(screen).toMatch(/set-flag\s+succeeded\s+nothing to change: the flag already has the target states/);
    expect(screen).not.toMatch(/Undo:/);
  });

  it('quit aborts with exit 3 and changes nothing', async () => {
    const t = open('flag --all');
    await t.waitFor(/Proceed\?/);
    t.type('q', 'Enter');
    expect(await t.exitCode()).toBe(3);
    expect(t.screen()).toMatch(/ABORTED/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
  });

  it('Ctrl-C at the prompt interrupts: nothing changes, the resume command is shown, the shell sees 130', async () => {
    const t = open('flag --all');
    await t.waitFor(/Proceed\?/);
    t.type('C-c');
    expect(await t.exitCode()).toBe(130);
    expect(t.screen()).toMatch(/Resume with: trimp-rollback resume \S+-flag-\S+ --config /);
    expect(t.screen()).not.toMatch(/Undo:/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
  });
});

describe('a terminal that reports no width', () => {
  it('gets plain progress lines instead of a spinner, and the run ends (ora would spin forever)', async () => {
    const command = `stty cols 0 rows 0; ${process.execPath} ${BIN} flag --all --yes --config ${sandbox.config}; echo "exit=$?"`;
    const result = await execa('script', ['-qec', command, '/dev/null'], { reject: false, timeout: 60_000, env: { TERM: 'xterm' } });
    expect(result.timedOut).toBe(false);
    expect(String(result.stdout)).toMatch(/exit=0/);
    expect(String(result.stdout)).toMatch(/→ set-flag: Set the feature flag per user type/);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  });
});

describe('an operator judging a gradual rollback at a real terminal', () => {
  it('judges an inconclusive gradual window: the question, its choices, and the answers journaled', async () => {
    // No simulated users here: every window is inconclusive (too little traffic).
    const t = open('gradual --window 2s --interval 1s --stages regular,beta');
    await t.waitFor(/Proceed\? \[y\]es/);
    t.type('y', 'Enter');
    const first = await t.waitFor(/\[r\]ecovered \/ \[n\]ext \/ \[w\]atch:\s*$/m, 20_000);
    expect(first).toMatch(/The window after the regular stage is inconclusive\. What do the figures say\?/);
    expect(first).toMatch(/too little traffic to judge admin \(0\), beta \(0\), regular \(0\): 20 requests needed in the window/);
    expect(first).toMatch(/\[n\] next: go on to the next stage \(beta\)/);
    t.type('x', 'Enter'); // not an answer: asked again, nothing assumed
    await t.waitFor(/Please answer r, n, w \(there is no default\)\./);
    t.type('n', 'Enter');
    await t.waitFor(/Stage 2[^\n]*will:[\s\S]*Proceed\? \[y\]es/, 20_000);
    t.type('y', 'Enter');
    // After the last stage there is no next one to offer.
    const last = await t.waitFor(/The window after the beta stage is inconclusive[\s\S]*\[r\]ecovered \/ \[w\]atch:\s*$/m, 20_000);
    expect(last.slice(last.lastIndexOf('The window after the beta stage'))).not.toMatch(/\[n\] next/);
    t.type('r', 'Enter');
    expect(await t.exitCode(20_000)).toBe(0);
    const screen = t.screen();
    expect(screen).toMatch(/: SUCCEEDED/);
    expect(screen).toMatch(/watch-2\s+succeeded\s+\S+ s\s+recovered: the operator judged it recovered/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: false, regular: false });
    const journal = /Journal: (\S+)/.exec(screen)?.[1] as string;
    const answers = readFileSync(journal, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === 'step.observed' && e.name === 'operator_decision')
      .map((e) => e.data.answer);
    expect(answers).toEqual(['next', 'recovered']);
  });

  it('Ctrl-C at the question stops the run (130, interrupted): no later stage is done without an answer', async () => {
    const t = open('gradual --window 2s --interval 1s --stages regular,beta');
    await t.waitFor(/Proceed\? \[y\]es/);
    t.type('y', 'Enter');
    await t.waitFor(/\[r\]ecovered \/ \[n\]ext \/ \[w\]atch:\s*$/m, 20_000);
    t.type('C-c');
    expect(await t.exitCode(20_000)).toBe(130);
    const screen = t.screen();
    expect(screen).toMatch(/: INTERRUPTED/);
    expect(screen).toMatch(/watch-1\s+interrupted\s+\S+ s\s+window 1 interrupted after 2 of 2 samples: not judged/);
    expect(screen).toMatch(/stage-2\s+not-run/);
    expect(screen).toMatch(/Resume with: trimp-rollback resume \S+ --config \S+/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: false });
  });
});

describe('advise at a real terminal', () => {
  it('without arguments, asks which issue it is (numbered), then answers that row', async () => {
    const t = open('advise');
    const screen = await t.waitFor(
      /^\[1\] trimp-errors \/ \[2\] performance \/ \[3\] instability \/ \[4\] data-corruption \/ \[5\] security-breach:\s*$/m,
    );
    expect(screen).toMatch(/Which issue is it\?/);
    expect(screen).toMatch(/\[5\] security-breach: Security breach \(severity critical\): Complete system rollback/);
    t.type('2', 'Enter');
    expect(await t.exitCode(), t.screen()).toBe(0);
    expect(t.screen()).toMatch(/Issue: {4}Performance degradation \(severity medium\)\nAction: {3}Feature flag rollback/);
    expect(t.screen()).toMatch(/Command: {2}trimp-rollback flag --all --config \S+/);
  });
});

// Last: it leaves the app on release 1.0.0, which cannot turn the enhanced method on again.
describe('a complete system rollback at a real terminal', () => {
  it('asks once per destructive stage, listing every change of that stage', async () => {
    expect((await cli(['backup', 'create', '--config', sandbox.config])).exitCode).toBe(0);
    const t = open('run complete');
    const stages = ['Flag off for every user', 'Previous release', 'Database as of the backup', 'Flag off again after the restore'];
    for (const [i, stage] of stages.entries()) {
      const screen = await t.waitFor(
        new RegExp(`Stage "${stage}" \\(its changes are confirmed once, together\\) \\(\\S+\\) will:[\\s\\S]*Proceed\\? \\[y\\]es`),
        30_000,
      );
      if (i === 1) {
        // Every change of the stage in one prompt: stop, deploy, start.
        const prompt = screen.slice(screen.lastIndexOf(`Stage "${stage}"`));
        for (const id of ['application.stop-app', 'application.deploy', 'application.start-app']) expect(prompt).toContain(`${id}: `);
      }
      t.type('y', 'Enter');
    }
    expect(await t.exitCode(60_000)).toBe(0);
    const screen = t.screen();
    expect(screen).toMatch(/runbook complete via api: SUCCEEDED/);
    expect(screen.match(/Proceed\? \[y\]es/g)).toHaveLength(4);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  }, 120_000);
});

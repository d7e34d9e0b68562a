import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cli } from '../helpers/cli.js';
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
  await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
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
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  });

  it('Enter alone means no: the step is declined and nothing changes', async () => {
    const t = open('flag --user-type regular');
    await t.waitFor(/Proceed\?/);
    t.type('Enter');
    await t.exitCode();
    expect(t.screen()).toMatch(/set-flag\s+print\s+declined/);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
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
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
  });
});

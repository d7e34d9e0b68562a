import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT } from '../helpers/cli.js';
import { forwardTo, startHostileServer } from '../helpers/hostile-server.js';
import { journalOf } from '../helpers/journal.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

interface RunJson {
  run_id: string;
  status: string;
  undo_command: string | null;
  resume_command: string | null;
  steps: { id: string; status: string; summary: string; evidence?: Record<string, unknown> }[];
}
type Check = { name: string; status: string; summary: string };

const SLOW = join(ROOT, 'test/fixtures/runbooks/slow-flag.yaml');
const on = { admin: true, beta: true, regular: true };
const off = { admin: false, beta: false, regular: false };
let sandbox: TestSandbox;

beforeAll(async () => {
  // Live users (40 requests a second): the in-run validation judges what they see.
  sandbox = await startTestSandbox('trimp-truth-', { traffic: 40 });
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
  // Reset through the admin API directly: a rollback run here would (rightly) judge the errors
  // the previous test's fault left in the last minute of traffic.
  for (const type of ['admin', 'beta', 'regular']) {
    const response = await fetch(`${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_type: type, enabled: true }),
    });
    expect(response.status).toBe(200);
  }
});

const run = async (...args: string[]) => {
  const result = await cli([...args, '--json', '--config', sandbox.config]);
  return { exitCode: result.exitCode, run: jsonOf<RunJson>(result), stderr: result.stderr };
};
const checksOf = (r: RunJson) => (r.steps.find((s) => s.id === 'validate')?.evidence?.checks ?? []) as Check[];

describe('the Undo line is true', () => {
  it('a staged rollout (two flag.set steps) is undone from the states journaled before each step', async () => {
    const staged = await run('run', SLOW, '--yes', '--input', 'pause=10ms');
    expect(staged.exitCode, staged.stderr).toBe(0);
    expect(await sandbox.flags()).toEqual(off);
    expect(staged.run.undo_command).toBe(`trimp-rollback flag restore --run ${staged.run.run_id} --config ${sandbox.config} --yes`);
    const undo = await cli([...(staged.run.undo_command as string).split(' ').slice(1)]);
    expect(undo.exitCode, undo.stderr).toBe(0);
    expect(await sandbox.flags()).toEqual(on);
  });

  it('a store that fails after the first toggle: the before-states were journaled first, the Undo line is printed and works', async () => {
    let toggles = 0;
    const flaky = await startHostileServer(
      forwardTo(sandbox.baseUrl, (req, res) => {
        if (req.method !== 'POST' || !req.url?.endsWith('/toggle')) return false;
        toggles += 1;
        if (toggles !== 2) return false;
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"Internal server error"}');
        return true;
      }),
    );
    try {
      const failed = await run('flag', '--all', '--yes', '--base-url', flaky.url);
      expect(failed.exitCode).toBe(1);
      expect(failed.run.steps.find((s) => s.id === 'set-flag')).toMatchObject({
        status: 'failed',
        summary: expect.stringMatching(/HTTP 500/),
      });
      expect(await sandbox.flags()).toEqual({ admin: false, beta: true, regular: true });
      const events = journalOf(sandbox.stateDir, failed.run.run_id);
      const observed = events.findIndex((e) => e.type === 'step.observed' && e.name === 'flag_states_before');
      expect(observed).toBeGreaterThan(events.findIndex((e) => e.type === 'step.started' && e.step === 'set-flag'));
      expect(events[observed]).toMatchObject({ data: { states: on } });
      expect(failed.run.undo_command).toBe(
        `trimp-rollback flag restore --run ${failed.run.run_id} --config ${sandbox.config} --base-url ${flaky.url} --yes`,
      );
      const undo = await cli([...(failed.run.undo_command as string).split(' ').slice(1)]);
      expect(undo.exitCode, undo.stderr).toBe(0);
      expect(await sandbox.flags()).toEqual(on);
    } finally {
      await flaky.close();
    }
  });

  it('no Undo line for a run that changed nothing, or a dry run', async () => {
    const first = await run('flag', '--all', '--yes');
    expect(first.run.undo_command).not.toBeNull();
    const again = await run('flag', '--all', '--yes');
    expect(again.exitCode).toBe(0);
    expect(again.run.steps.find((s) => s.id === 'set-flag')?.summary).toMatch(/^nothing to change/);
    expect(again.run.undo_command).toBeNull();
    const refused = await cli(['flag', 'restore', '--run', again.run.run_id, '--yes', '--config', sandbox.config]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/recorded no flag state that it changed/);
    const dry = await run('flag', '--all', '--enable', '--dry-run');
    expect(dry.run.undo_command).toBeNull();
  });
});

describe('the in-run validation does not pass while the app is still broken', () => {
  it('a restore back into an active trimp-errors fault (50 %) fails its own validation', async () => {
    const rollback = await run('flag', '--all', '--yes');
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect((await cli(['sandbox', 'break', '--dir', sandbox.dir, 'trimp-errors', '--share', '0.5'])).exitCode).toBe(0);
    const restore = await cli([
      'flag',
      'restore',
      '--run',
      rollback.run.run_id,
      '--yes',
      '--json',
      '--settle',
      '15s',
      '--config',
      sandbox.config,
    ]);
    expect(restore.exitCode, restore.stderr).toBe(1);
    const result = jsonOf<RunJson>(restore);
    expect(result.status).toBe('failed');
    // verify asks the app once per type; validation asks ten times per type and watches users:
    // whichever sees the 500s first fails the run, and says so.
    const failed = result.steps.find((s) => s.status === 'failed');
    expect(['verify', 'validate']).toContain(failed?.id);
    expect(failed?.summary).toMatch(/answered HTTP 500|too many errors/);
    if (failed?.id === 'validate') {
      expect(checksOf(result).find((c) => c.name === 'trimp-app-answer')).toMatchObject({
        status: 'fail',
        summary: expect.stringMatching(/\d+ of 10 wrong \(user \d: the calculation answered HTTP 500\)/),
      });
    }
    // The same fault judged by validate alone, on enough evidence: it fails too.
    const args = ['validate', '--checks', 'trimp-app-answer,user-errors', '--since', result.run_id, '--settle', '15s', '--json'];
    const alone = await cli([...args, '--config', sandbox.config]);
    expect(alone.exitCode, alone.stderr).toBe(1);
    const doc = jsonOf<{ checks: Check[] }>(alone);
    expect(doc.checks.find((c) => c.name === 'trimp-app-answer')).toMatchObject({ status: 'fail' });
    expect(doc.checks.find((c) => c.name === 'user-errors')).toMatchObject({
      status: 'fail',
      summary: expect.stringMatching(/too many errors for/),
    });
  });

  it('a beta-only rollback that leaves a 4 s slow path on admin and regular fails on performance, per user type', async () => {
    expect((await cli(['sandbox', 'break', '--dir', sandbox.dir, 'slow', '--ms', '4000'])).exitCode).toBe(0);
    const beta = await run('flag', '--user-type', 'beta', '--yes', '--settle', '20s');
    expect(beta.exitCode, beta.stderr).toBe(1);
    const performance = checksOf(beta.run).find((c) => c.name === 'performance');
    expect(performance).toMatchObject({ status: 'fail', summary: expect.stringMatching(/p95 above 500 ms for (admin, regular|regular)/) });
    expect(performance?.summary).not.toMatch(/for beta/);
  });
});

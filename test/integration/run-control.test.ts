import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT, spawnCli } from '../helpers/cli.js';
import { journalOf, runIds, waitForEvent } from '../helpers/journal.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const SLOW = join(ROOT, 'test/fixtures/runbooks/slow-flag.yaml');
let sandbox: TestSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  const reset = await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  expect(reset.exitCode, reset.stderr).toBe(0);
});

const startedPause = (e: Record<string, unknown>) => e.type === 'step.started' && e.step === 'pause';

describe('Ctrl-C and resume', () => {
  it('SIGINT mid-run stops safely, journals it, names the resume command, ends by SIGINT; resume completes', async () => {
    const known = runIds(sandbox.stateDir);
    const child = spawnCli(['run', SLOW, '--yes', '--input', 'pause=3s', '--config', sandbox.config]);
    const runId = await waitForEvent(sandbox.stateDir, known, startedPause);
    child.kill('SIGINT');
    const result = await child;
    expect(result.signal).toBe('SIGINT');
    expect(String(result.stdout)).toContain(`Resume with: trimp-rollback resume ${runId} --config ${sandbox.config}`);
    expect(String(result.stderr)).toMatch(/Interrupt: finishing the step in flight safely/);

    const events = journalOf(sandbox.stateDir, runId);
    expect(events.at(-1)).toMatchObject({ type: 'run.interrupted', step: 'pause' });
    expect(events.find((e) => e.type === 'step.finished' && e.step === 'pause')).toMatchObject({ status: 'interrupted' });
    expect(await sandbox.flags()).toEqual({ admin: false, beta: true, regular: true });
    expect(existsSync(join(sandbox.stateDir, 'lock.json'))).toBe(false);

    const resumed = await cli(['resume', runId, '--yes', '--json', '--config', sandbox.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const run = jsonOf<{ status: string; steps: { id: string; status: string }[] }>(resumed);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ['admin-off', 'done-before'],
      ['pause', 'succeeded'],
      ['rest-off', 'succeeded'],
      ['verify', 'succeeded'],
    ]);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
    const after = journalOf(sandbox.stateDir, runId);
    const resumedAt = after.findIndex((e) => e.type === 'run.resumed');
    expect(after[resumedAt]).toMatchObject({ attempt: 2 });
    expect(after.slice(resumedAt).some((e) => e.type === 'step.started' && e.step === 'admin-off')).toBe(false);
    expect(after.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  });

  it('a step that started and never finished (a crash) is re-checked against the world on resume', async () => {
    const first = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]));
    // Cut the journal right after set-flag started, as a crash at that moment would leave it.
    const path = join(sandbox.stateDir, 'runs', first.run_id, 'journal.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    const cut = lines.findIndex((line) => line.includes('"step.started"') && line.includes('"set-flag"'));
    writeFileSync(path, `${lines.slice(0, cut + 1).join('\n')}\n`);

    // The world: the change did land. Resume must see that rather than assume either way.
    const done = await cli(['resume', '--yes', '--json', '--config', sandbox.config]);
    expect(done.exitCode, done.stderr).toBe(0);
    const run = jsonOf<{ run_id: string; steps: { id: string; status: string; summary: string }[] }>(done);
    expect(run.run_id).toBe(first.run_id);
    const setFlag = run.steps.find((s) => s.id === 'set-flag')!;
    expect(setFlag.status).toBe('succeeded');
    expect(setFlag.summary).toMatch(/already done \(re-checked\)/);
    expect(journalOf(sandbox.stateDir, first.run_id).some((e) => e.type === 'step.rechecked' && e.done === true)).toBe(true);
  });

  it('a re-check that finds the change missing does the step again', async () => {
    const first = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]));
    const path = join(sandbox.stateDir, 'runs', first.run_id, 'journal.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    const cut = lines.findIndex((line) => line.includes('"step.started"') && line.includes('"set-flag"'));
    writeFileSync(path, `${lines.slice(0, cut + 1).join('\n')}\n`);
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);

    const again = await cli(['resume', first.run_id, '--yes', '--json', '--config', sandbox.config]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(journalOf(sandbox.stateDir, first.run_id).some((e) => e.type === 'step.rechecked' && e.done === false)).toBe(true);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  });
});

describe('one rollback at a time', () => {
  it('a second run exits 4 naming the holder; a dead holder is stale and taken over only with --force-unlock --reason', async () => {
    const known = runIds(sandbox.stateDir);
    const holder = spawnCli(['run', SLOW, '--yes', '--reason', 'first responder', '--input', 'pause=20s', '--config', sandbox.config]);
    const holderRun = await waitForEvent(sandbox.stateDir, known, startedPause);

    const second = await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
    expect(second.exitCode).toBe(4);
    expect(second.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(
        `another rollback holds the lock on the state directory .+: run ${holderRun} \\(slow-flag\\) by .+@.+, pid ${holder.pid} on .+, since .+, reason "first responder"`,
      ),
    );

    holder.kill('SIGKILL');
    await holder;
    const stale = await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
    expect(stale.exitCode).toBe(4);
    expect(stale.stderr).toMatch(
      /stale lock on the state directory .*: run .* no longer running — if no rollback is running, take it over with --force-unlock --reason/,
    );

    const noReason = await cli(['flag', '--all', '--yes', '--force-unlock', '--config', sandbox.config]);
    expect(noReason.exitCode).toBe(2);

    const taken = await cli([
      'flag',
      '--all',
      '--yes',
      '--json',
      '--force-unlock',
      '--reason',
      'holder crashed',
      '--config',
      sandbox.config,
    ]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    const takenRun = jsonOf<{ run_id: string }>(taken).run_id;
    // Both locks the dead holder left (the state directory's and the target's) are taken over, and journaled.
    const takeovers = journalOf(sandbox.stateDir, takenRun).filter((e) => e.type === 'lock.taken_over');
    expect(takeovers).toHaveLength(2);
    for (const event of takeovers) expect(event).toMatchObject({ reason: 'holder crashed', previous: { run_id: holderRun } });
    expect(existsSync(join(sandbox.stateDir, 'lock.json'))).toBe(false);
    expect(existsSync(`${sandbox.database}.trimp-rollback-lock`)).toBe(false);
  });
});

describe('secrets', () => {
  it('the admin token appears in no output, journal, log or process argument list', async () => {
    const env = { TRIMP_ADMIN_TOKEN: sandbox.token };
    const known = runIds(sandbox.stateDir);
    const child = spawnCli(['run', SLOW, '--yes', '--json', '--input', 'pause=1s', '--config', sandbox.config], { env });
    await waitForEvent(sandbox.stateDir, known, startedPause);
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    expect(argv(child.pid!)).not.toContain(sandbox.token);
    expect(argv(sandbox.pid)).not.toContain(sandbox.token);
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).not.toContain(sandbox.token);
    expect(String(result.stderr)).not.toContain(sandbox.token);

    const dry = await cli(['flag', '--all', '--dry-run', '--config', sandbox.config], { env });
    expect(dry.stdout + dry.stderr).not.toContain(sandbox.token);

    const wrong = await cli(['flag', '--all', '--yes', '--config', sandbox.config], { env: { TRIMP_ADMIN_TOKEN: 'not-the-token-4f2a' } });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stdout).toMatch(/the app refused the admin token from TRIMP_ADMIN_TOKEN: GET api\/admin\/feature-flags answered HTTP 401/);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-token-4f2a');

    for (const id of runIds(sandbox.stateDir)) {
      for (const file of readdirSync(join(sandbox.stateDir, 'runs', id))) {
        const text = readFileSync(join(sandbox.stateDir, 'runs', id, file), 'utf8');
        expect(text, file).not.toContain(sandbox.token);
        expect(text, file).not.toContain('not-the-token-4f2a');
      }
    }
    for (const name of readdirSync(sandbox.logsDir)) expect(readFileSync(join(sandbox.logsDir, name), 'utf8')).not.toContain(sandbox.token);
    expect(statSync(sandbox.tokenFile).mode & 0o777).toBe(0o600);
  });
});

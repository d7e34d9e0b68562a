import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT, spawnCli } from '../helpers/cli.js';
import { journalOf, runIds, waitForEvent } from '../helpers/journal.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const SLOW = join(ROOT, 'test/fixtures/runbooks/slow-flag.yaml');
let sandbox: TestSandbox;
let stateLock: string;
let targetLock: string;

beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-locks-');
  stateLock = join(sandbox.stateDir, 'lock.json');
  targetLock = `${sandbox.database}.trimp-rollback-lock`;
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  rmSync(stateLock, { force: true });
  rmSync(targetLock, { force: true });
  expect((await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config])).exitCode).toBe(0);
});

/** Exit 4 and a last line naming the problem. */
function expectLocked(result: { exitCode: number | undefined; stderr: string }, pattern: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(4);
  expect(result.stderr.trim().split('\n').at(-1)).toMatch(pattern);
}

describe('locks that cannot be read', () => {
  it.each([
    ['empty (a full disk left it)', ''],
    ['not JSON', '{"run_id": "20261129T'],
    ['JSON, not a lock', '[1, 2, 3]\n'],
  ])('%s: reported as unreadable (exit 4); --force-unlock --reason always takes it over, journaled', async (_name, content) => {
    writeFileSync(stateLock, content);
    expectLocked(
      await cli(['flag', '--all', '--yes', '--config', sandbox.config]),
      /the lock file .*lock\.json is unreadable \(.*\) — if no rollback is running, take it over with --force-unlock --reason/,
    );
    const taken = await cli([
      'flag',
      '--all',
      '--yes',
      '--json',
      '--force-unlock',
      '--reason',
      'empty lock after ENOSPC',
      '--config',
      sandbox.config,
    ]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(journalOf(sandbox.stateDir, jsonOf<{ run_id: string }>(taken).run_id).find((e) => e.type === 'lock.taken_over')).toMatchObject({
      reason: 'empty lock after ENOSPC',
      previous: null,
    });
    expect(existsSync(stateLock)).toBe(false);
  });

  it('a lock left by a run whose journal says it ended (killed after run.finished) is cleared at once', async () => {
    const run = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]));
    // As if the process had been killed after journaling its end, before it removed its lock.
    const holder = {
      run_id: run.run_id,
      pid: 999_999,
      host: hostname(),
      since: new Date().toISOString(),
      reason: null,
      runbook: 'flag',
      state_dir: sandbox.stateDir,
    };
    writeFileSync(stateLock, JSON.stringify(holder));
    writeFileSync(targetLock, JSON.stringify(holder));
    const next = await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(new RegExp(`cleared the lock left by run ${run.run_id}, which had ended`));
    expect(existsSync(stateLock)).toBe(false);
    expect(existsSync(targetLock)).toBe(false);
  });
});

describe('every exit path releases the locks', () => {
  it('two Ctrl-Cs at once leave no lock, on the state directory or beside the database', async () => {
    const known = runIds(sandbox.stateDir);
    const child = spawnCli(['run', SLOW, '--yes', '--input', 'pause=30s', '--config', sandbox.config]);
    const runId = await waitForEvent(sandbox.stateDir, known, (e) => e.type === 'step.started' && e.step === 'pause');
    expect(existsSync(stateLock) && existsSync(targetLock)).toBe(true);
    // Two at once (the signals may coalesce into one; either way no lock may remain). The hard
    // stop with a step in flight is in interrupt.test.ts.
    child.kill('SIGINT');
    child.kill('SIGINT');
    const result = await child;
    expect(result.signal).toBe('SIGINT');
    expect(existsSync(stateLock)).toBe(false);
    expect(existsSync(targetLock)).toBe(false);
    expect(journalOf(sandbox.stateDir, runId).some((e) => e.type === 'run.interrupted')).toBe(true);
  });

  it('a journal that cannot be created (its directory is a file) leaves no lock, and says where', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trimp-notdir-'));
    try {
      writeFileSync(join(state, 'runs'), 'not a directory');
      const result = await cli(['flag', '--all', '--yes', '--state-dir', state, '--config', sandbox.config]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n').at(-1)).toMatch(
        /^trimp-rollback: the journal could not be created: .*runs.*: (already exists|a part of the path is a file)/,
      );
      expect(result.stderr).not.toMatch(/internal error|\bat .+:\d+:\d+/);
      expect(existsSync(join(state, 'lock.json'))).toBe(false);
      expect(existsSync(targetLock)).toBe(false);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('the lock is per target, not only per state directory', () => {
  it("a second operator with their own state directory meets the first one's lock beside the database", async () => {
    const known = runIds(sandbox.stateDir);
    const first = spawnCli(['run', SLOW, '--yes', '--reason', 'first operator', '--input', 'pause=30s', '--config', sandbox.config]);
    try {
      const runId = await waitForEvent(sandbox.stateDir, known, (e) => e.type === 'step.started' && e.step === 'pause');
      const other = mkdtempSync(join(tmpdir(), 'trimp-operator2-'));
      try {
        const second = await cli(['flag', '--all', '--yes', '--state-dir', other, '--config', sandbox.config]);
        expectLocked(
          second,
          new RegExp(
            `another rollback holds the lock on the target \\(.*training_data\\.db\\.trimp-rollback-lock\\): run ${runId} \\(slow-flag\\) by .+, pid ${first.pid} on .+, reason "first operator", state dir ${sandbox.stateDir}`,
          ),
        );
        expect(existsSync(join(other, 'lock.json'))).toBe(false); // its own lock was released again
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
      expect(await sandbox.flags()).toEqual({ admin: false, beta: true, regular: true });
    } finally {
      first.kill('SIGINT');
      await first;
    }
  });
});

describe('locks in odd shapes', () => {
  it('a symlink to the database meets the same target lock', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'trimp-link-')), 'linked.db');
    symlinkSync(sandbox.database, link);
    const known = runIds(sandbox.stateDir);
    const first = spawnCli(['run', SLOW, '--yes', '--input', 'pause=30s', '--config', sandbox.config]);
    try {
      await waitForEvent(sandbox.stateDir, known, (e) => e.type === 'step.started' && e.step === 'pause');
      const other = mkdtempSync(join(tmpdir(), 'trimp-operator3-'));
      try {
        const second = await cli(['flag', '--all', '--yes', '--database', link, '--state-dir', other, '--config', sandbox.config]);
        expectLocked(second, /another rollback holds the lock on the target \(.*training_data\.db\.trimp-rollback-lock\)/);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      first.kill('SIGINT');
      await first;
      rmSync(dirname(link), { recursive: true, force: true });
    }
  });

  it('a lock held from another host cannot be checked: exit 4 says so, and --force-unlock --reason takes it over', async () => {
    const holder = {
      run_id: '20261129T000000.000Z-flag-0000',
      pid: 4242,
      host: 'some-other-host',
      since: '2026-11-29T00:00:00Z',
      reason: null,
      runbook: 'flag',
    };
    writeFileSync(stateLock, JSON.stringify(holder));
    expectLocked(
      await cli(['flag', '--all', '--yes', '--config', sandbox.config]),
      /from another host: run 20261129T000000\.000Z-flag-0000 .* on some-other-host.* — it cannot be checked from here: wait for it, or, if that run is gone, take it over with --force-unlock --reason/,
    );
    const taken = await cli(['flag', '--all', '--yes', '--force-unlock', '--reason', 'that host is gone', '--config', sandbox.config]);
    expect(taken.exitCode, taken.stderr).toBe(0);
  });

  it('a PID that now belongs to another program is a stale holder, and said so', async () => {
    const bystander = spawn('sleep', ['30']);
    try {
      const holder = {
        run_id: '20261129T000000.000Z-flag-0001',
        pid: bystander.pid,
        host: hostname(),
        since: '2026-11-29T00:00:00Z',
        reason: null,
        runbook: 'flag',
      };
      writeFileSync(stateLock, JSON.stringify(holder));
      expectLocked(
        await cli(['flag', '--all', '--yes', '--config', sandbox.config]),
        new RegExp(`stale lock .*, and pid ${bystander.pid} is now another program`),
      );
    } finally {
      bystander.kill();
    }
  });

  it('a directory where the lock should be: one line, no stack, with or without --force-unlock', async () => {
    mkdirSync(stateLock);
    try {
      const plain = await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
      expectLocked(plain, /the lock file .*lock\.json is unreadable \(EISDIR\)/);
      const forced = await cli(['flag', '--all', '--yes', '--force-unlock', '--reason', 'x', '--config', sandbox.config]);
      expect(forced.exitCode).toBe(2);
      expect(forced.stderr.trim().split('\n').at(-1)).toMatch(/the lock cannot be removed \(is it a directory\?\): .*is a directory/);
      expect(forced.stderr).not.toMatch(/internal error|\bat .+:\d+:\d+/);
    } finally {
      rmSync(stateLock, { recursive: true, force: true });
    }
  });
});

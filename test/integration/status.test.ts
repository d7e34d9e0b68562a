import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-status-');
});
afterAll(async () => {
  await sandbox?.remove();
});

interface Status {
  flag: { name: string; states?: Record<string, boolean>; problem?: string };
  app: { http_status?: number; status?: string; version?: string; commit: string | null; problem?: string };
  newest_backup: { id: string; age_ms: number; size_bytes: number } | null;
  locks: { path: string; free?: boolean; held_by?: string }[];
  last_runs: { run_id: string; status: string; runbook: string; reason: string | null }[];
}

describe('status', () => {
  it('--json against a sandbox: flag states, health and release, newest backup, locks, last runs', async () => {
    const empty = jsonOf<Status>(await cli(['status', '--json', '--config', sandbox.config]));
    expect(empty.newest_backup).toBeNull();
    expect(empty.last_runs).toEqual([]);

    expect((await cli(['flag', '--user-type', 'regular', '--yes', '--reason', 'status test', '--config', sandbox.config])).exitCode).toBe(
      0,
    );
    const backup = await cli(['backup', 'create', '--json', '--config', sandbox.config]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const result = await cli(['status', '--json', '--config', sandbox.config]);
    expect(result.exitCode).toBe(0);
    const status = jsonOf<Status>(result);
    expect(status.flag).toEqual({ name: 'enhanced_trimp_calculation', states: { admin: true, beta: true, regular: false } });
    expect(status.app).toMatchObject({
      http_status: 200,
      status: 'healthy',
      version: '1.1.0',
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(status.newest_backup).toMatchObject({ id: jsonOf<{ id: string }>(backup).id, size_bytes: expect.any(Number) });
    expect(status.newest_backup?.age_ms).toBeGreaterThanOrEqual(0);
    expect(status.locks.every((lock) => lock.free)).toBe(true);
    expect(status.last_runs.map((r) => [r.runbook, r.status, r.reason])).toEqual([['flag', 'succeeded', 'status test']]);

    const human = await cli(['status', '--config', sandbox.config]);
    expect(human.stdout).toMatch(/^flag {6}enhanced_trimp_calculation: admin enabled, beta enabled, regular disabled$/m);
    expect(human.stdout).toMatch(/^app {7}\/health 200 healthy; release 1\.1\.0, commit [0-9a-f]{12}$/m);
    expect(human.stdout).toMatch(/^backup {4}newest \S+, \d+ s ago, [\d.]+ MiB$/m);
  });

  it('with the app down, says so and still shows the rest (exit 0)', async () => {
    await sandbox.stop();
    try {
      const result = await cli(['status', '--config', sandbox.config]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^flag {6}enhanced_trimp_calculation: could not be read: .*(refused|reach)/m);
      expect(result.stdout).toMatch(/^app {7}not reachable: /m);
      expect(result.stdout).toMatch(/^runs {6}the last 1:/m);
      const viaDb = await cli(['status', '--via', 'db', '--config', sandbox.config]);
      expect(viaDb.stdout).toMatch(/^flag {6}enhanced_trimp_calculation: admin enabled, beta enabled, regular disabled$/m);
    } finally {
      await sandbox.start();
    }
  });
});

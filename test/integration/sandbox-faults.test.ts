import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-faults-');
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
  await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
});

const admin = (path: string) =>
  fetch(`${sandbox.baseUrl}${path}`, { headers: { authorization: `Bearer ${sandbox.token}` } }).then((r) => r.json());
const calculate = async (userId: number) => {
  const started = performance.now();
  const response = await fetch(`${sandbox.baseUrl}/api/trimp/calculate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      user_id: userId,
      duration_minutes: 60,
      avg_hr: 150,
      resting_hr: 50,
      max_hr: 180,
      gender: 'male',
      hr_stream: Array(60).fill(150),
    }),
  });
  return { status: response.status, body: (await response.json()) as { method?: string; trimp?: number }, ms: performance.now() - started };
};
const brk = async (...args: string[]) => {
  const result = await cli(['sandbox', 'break', '--dir', sandbox.dir, ...args]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result;
};
const quickCheck = () => {
  const db = new Database(sandbox.database, { readonly: true });
  try {
    return (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
  } catch (error) {
    return (error as Error).message;
  } finally {
    db.close();
  }
};

describe('faults: each shows its symptom, and the matching cure removes it', () => {
  it('trimp-errors: enhanced calculations fail with 500 and ERROR lines; a flag rollback stops them', async () => {
    const injected = await brk('trimp-errors', '--share', '1');
    expect(injected.stdout).toMatch(/injected trimp-errors: a share of enhanced/);
    expect((await calculate(4)).status).toBe(500);
    const metrics = (await admin('/api/admin/trimp-performance-metrics?window=5')) as {
      performance_metrics: { system_metrics: { errors: number; error_rate: number } };
    };
    expect(metrics.performance_metrics.system_metrics.errors).toBeGreaterThan(0);
    expect(readFileSync(join(sandbox.logsDir, 'error.log'), 'utf8')).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ERROR TRIMP calculation failed: user_id=4 user_type=regular method=stream reason=".*injected fault trimp-errors.*"$/m,
    );
    await cli(['flag', '--user-type', 'regular', '--yes', '--config', sandbox.config]);
    expect(await calculate(4)).toMatchObject({ status: 200, body: { method: 'average', trimp: 129.36 } });
    expect((await calculate(2)).status).toBe(500); // beta still on the enhanced method
  });

  it('trimp-errors --user-types: only the named cohorts fail, and the metrics count it per user type', async () => {
    const injected = await brk('trimp-errors', '--share', '1', '--user-types', 'beta');
    expect(injected.stdout).toMatch(/^injected trimp-errors \(only for beta users\): /);
    const since = Date.now();
    expect((await calculate(2)).status).toBe(500); // beta
    expect((await calculate(4)).status).toBe(200); // regular
    expect((await calculate(1)).status).toBe(200); // admin
    const windowS = ((Date.now() - since) / 1000 + 0.05).toFixed(2); // these three requests only
    const metrics = (await admin(`/api/admin/trimp-performance-metrics?window=${windowS}`)) as {
      performance_metrics: { system_metrics: { per_user_type: Record<string, { trimp_calculations: number; trimp_failures: number }> } };
    };
    const perType = metrics.performance_metrics.system_metrics.per_user_type;
    expect(perType.beta).toMatchObject({ trimp_calculations: 1, trimp_failures: 1 });
    expect(perType.regular).toMatchObject({ trimp_failures: 0 });
    expect(perType.admin).toMatchObject({ trimp_calculations: 1, trimp_failures: 0 });
    const wrong = await cli(['sandbox', 'break', 'slow', '--user-types', 'beta', '--dir', sandbox.dir]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/--user-types applies to trimp-errors only, not slow/);
  });

  it('slow: enhanced calculations are slow and p95 rises; off the enhanced method they are fast again', async () => {
    await brk('slow', '--ms', '300');
    for (let i = 0; i < 3; i++) {
      const slow = await calculate(4);
      expect(slow.status).toBe(200);
      expect(slow.ms).toBeGreaterThan(200);
    }
    const metrics = (await admin('/api/admin/trimp-performance-metrics?window=1')) as {
      performance_metrics: { system_metrics: { latency_ms: { p99: number } } };
    };
    expect(metrics.performance_metrics.system_metrics.latency_ms.p99).toBeGreaterThan(200);
    await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
    // Off the enhanced method, the slow path is not taken (no timing: a busy host is slow too).
    expect((await calculate(4)).body).toMatchObject({ method: 'average' });
  });

  it('corrupt-db: real page damage — /health 503, quick_check fails; heal puts the bytes back', async () => {
    expect(quickCheck()).toBe('ok');
    await brk('corrupt-db');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the app reopens its database
    const health = await fetch(`${sandbox.baseUrl}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unhealthy', database_connection_status: expect.stringMatching(/malformed/) });
    expect(quickCheck()).not.toBe('ok');
    const sqlite = await execa('sqlite3', [sandbox.database, 'PRAGMA integrity_check'], { reject: false });
    expect(`${sqlite.stdout}${sqlite.stderr}`).not.toMatch(/^ok$/);
    await cli(['sandbox', 'heal', '--dir', sandbox.dir, 'corrupt-db']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetch(`${sandbox.baseUrl}/health`)).status).toBe(200);
    expect(quickCheck()).toBe('ok');
  });

  it('bad-deploy: a new commit in the app checkout starts but fails /health; heal deploys the previous commit', async () => {
    const before = (await (await fetch(`${sandbox.baseUrl}/health`)).json()) as { commit: string };
    await brk('bad-deploy');
    const health = await fetch(`${sandbox.baseUrl}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unhealthy', version: '1.2.0' });
    const log = await execa('git', ['-C', join(sandbox.dir, 'app'), 'log', '--format=%s']);
    expect(log.stdout.split('\n')).toEqual([
      'release 1.2.0 (defect: health)',
      'release 1.1.0 (enhanced TRIMP)',
      'release 1.0.0 (average TRIMP only)',
    ]);
    await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
    expect(await (await fetch(`${sandbox.baseUrl}/health`)).json()).toMatchObject({
      status: 'healthy',
      version: '1.1.0',
      commit: before.commit,
    });
  });

  it('bad-deploy with a TRIMP defect: healthy, but the app answers the wrong TRIMP', async () => {
    await brk('bad-deploy', '--defect', 'trimp');
    await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
    expect((await calculate(4)).body.trimp).toBeCloseTo(129.36 / 2, 1);
    const verify = await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]);
    expect(verify.exitCode).toBe(1);
    expect(jsonOf<{ steps: { id: string; summary: string }[] }>(verify).steps.find((s) => s.id === 'verify')!.summary).toMatch(
      /expected 129.36/,
    );
  });

  it('crash: the process is gone, the PID file is stale; heal restarts it on the same port', async () => {
    await brk('crash');
    const status = await cli(['sandbox', 'status', '--dir', sandbox.dir, '--json']);
    expect(status.exitCode).toBe(1);
    expect(jsonOf(status)).toMatchObject({ running: false, stale_pid: expect.any(Number), faults: ['crash'] });
    await expect(fetch(`${sandbox.baseUrl}/health`)).rejects.toThrow();
    await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
    expect((await fetch(`${sandbox.baseUrl}/health`)).status).toBe(200);
  });

  it('crash, then a plain `sandbox start`: the crash is over and no longer listed as a fault', async () => {
    await brk('crash');
    await sandbox.start();
    const status = await cli(['sandbox', 'status', '--dir', sandbox.dir, '--json']);
    expect(status.exitCode).toBe(0);
    expect(jsonOf(status)).toMatchObject({ running: true, faults: [] });
  });

  it('refuses an unknown fault with exit 2', async () => {
    const result = await cli(['sandbox', 'break', '--dir', sandbox.dir, 'meteor']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toMatch(/unknown fault "meteor"; faults: trimp-errors, slow, corrupt-db, bad-deploy, crash/);
  });
});

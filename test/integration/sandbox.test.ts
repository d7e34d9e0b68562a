import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { alive } from '../helpers/processes.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.remove();
});

/** The seed's curl lines, as written, plus the Authorization header. */
async function curl(...args: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const result = await execa('curl', ['-s', '-w', '\n%{http_code}', ...args, '-H', `Authorization: Bearer ${sandbox.token}`]);
  const lines = result.stdout.trim().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}

describe('the sandbox serves the seed as written', () => {
  it("runs the seed's emergency curl lines", async () => {
    const off = await curl(
      '-X',
      'POST',
      `${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"enabled": false}',
    );
    expect(off).toMatchObject({ status: 200, body: { success: true, states: { admin: false, beta: false, regular: false } } });
    for (const type of ['admin', 'beta', 'regular']) {
      const on = await curl(
        '-X',
        'POST',
        `${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`,
        '-H',
        'Content-Type: application/json',
        '-d',
        `{"user_type": "${type}", "enabled": true}`,
      );
      expect(on.status).toBe(200);
    }
    const flags = await curl(`${sandbox.baseUrl}/api/admin/feature-flags`);
    expect(flags.body).toEqual({ success: true, flags: { enhanced_trimp_calculation: { admin: true, beta: true, regular: true } } });
    const health = await curl(`${sandbox.baseUrl}/health`);
    expect(health).toMatchObject({ status: 200, body: { status: 'healthy', database_connection_status: 'connected' } });
    expect(health.body.activity_count_check).toBe(3000);
    const settings = await curl(`${sandbox.baseUrl}/api/admin/trimp-settings`);
    expect(settings.body).toMatchObject({ success: true, enhanced_trimp_enabled: true, rollout_status: { admin_enabled: true } });
  });

  it('refuses admin calls without the token (401) and changes nothing', async () => {
    const response = await fetch(`${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' },
      body: '{"enabled": false}',
    });
    expect(response.status).toBe(401);
    expect((await fetch(`${sandbox.baseUrl}/api/admin/feature-flags`)).status).toBe(401);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
  });

  it('answers 400 on a bad toggle body and 404 on an unknown flag', async () => {
    const url = `${sandbox.baseUrl}/api/admin/feature-flags`;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${sandbox.token}` };
    expect((await fetch(`${url}/enhanced_trimp_calculation/toggle`, { method: 'POST', headers, body: '{"enabled": "no"}' })).status).toBe(
      400,
    );
    expect(
      (await fetch(`${url}/enhanced_trimp_calculation/toggle`, { method: 'POST', headers, body: '{"user_type": "vip", "enabled": false}' }))
        .status,
    ).toBe(400);
    expect((await fetch(`${url}/enhanced_trimp_calculation/toggle`, { method: 'POST', headers, body: '{not json' })).status).toBe(400);
    expect((await fetch(`${url}/no_such_flag/toggle`, { method: 'POST', headers, body: '{"enabled": false}' })).status).toBe(404);
  });

  it('evaluates users as the seed does (1 admin, 2 beta, 4 regular) and calculates TRIMP by the method the flag picks', async () => {
    const headers = { authorization: `Bearer ${sandbox.token}` };
    for (const [id, type] of [
      [1, 'admin'],
      [2, 'beta'],
      [3, 'beta'],
      [4, 'regular'],
    ] as const) {
      const body = await (
        await fetch(`${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/evaluate?user_id=${id}`, { headers })
      ).json();
      expect(body).toMatchObject({ user_id: id, user_type: type, enabled: true });
    }
    const calculate = async (userId: number, extra: Record<string, unknown> = {}) =>
      (await fetch(`${sandbox.baseUrl}/api/trimp/calculate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: userId, duration_minutes: 60, avg_hr: 150, resting_hr: 50, max_hr: 180, gender: 'male', ...extra }),
      }).then((r) => r.json())) as { trimp: number; method: string };
    expect(await calculate(4)).toEqual({ success: true, trimp: 129.36, method: 'average' });
    const stream = Array.from({ length: 60 }, () => 150);
    expect(await calculate(4, { hr_stream: stream })).toEqual({ success: true, trimp: 129.36, method: 'stream' });
    await cli(['flag', '--user-type', 'regular', '--yes', '--config', sandbox.config]);
    expect(await calculate(4, { hr_stream: stream })).toMatchObject({ method: 'average' });
    expect(await calculate(2, { hr_stream: stream })).toMatchObject({ method: 'stream' });
    expect(readFileSync(join(sandbox.logsDir, 'trimp_calculation.log'), 'utf8')).toMatch(
      /user_id=4 user_type=regular method=average trimp=129.36/,
    );
  });

  it('reports its status; stop signals only what really is this sandbox, and finds it even when the PID file lies', async () => {
    expect(jsonOf(await cli(['sandbox', 'status', '--dir', sandbox.dir, '--json']))).toMatchObject({ running: true, pid: sandbox.pid });
    // A PID file pointing at some other process (the seed's pkill hazard): stop must leave it alone,
    // and must still stop the real server rather than say "nothing was running".
    const bystander = spawn('sleep', ['30']);
    try {
      writeFileSync(join(sandbox.dir, 'sandbox.pid'), `${bystander.pid}\n`);
      const stop = await cli(['sandbox', 'stop', '--dir', sandbox.dir]);
      expect(stop.exitCode).toBe(0);
      expect(stop.stdout).toMatch(
        new RegExp(
          `sandbox stopped \\(pid ${sandbox.pid}\\); the PID file named pid ${bystander.pid}, which is another program: it was left alone`,
        ),
      );
      expect(bystander.exitCode).toBeNull();
      expect(alive(sandbox.pid)).toBe(false);
      // Nothing listens any more: a second start cannot make two servers on one database.
      await expect(fetch(`${sandbox.baseUrl}/health`)).rejects.toThrow();
    } finally {
      bystander.kill();
      await sandbox.start();
    }
    expect((await fetch(`${sandbox.baseUrl}/health`)).status).toBe(200);
    const twice = await cli(['sandbox', 'start', '--dir', sandbox.dir]);
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr).toMatch(/a sandbox already runs in/);
  });

  it('a port in use is said plainly: EADDRINUSE and the port', async () => {
    const other = mkdtempSync(join(tmpdir(), 'trimp-port-'));
    try {
      const port = new URL(sandbox.baseUrl).port;
      const result = await cli(['sandbox', 'start', '--dir', other, '--port', port]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    } finally {
      await cli(['sandbox', 'stop', '--dir', other]);
      rmSync(other, { recursive: true, force: true });
    }
  });
});

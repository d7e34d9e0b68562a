import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';

/** A sandbox on a database made by `sandbox seed`, with live traffic. */
const dir = mkdtempSync(join(tmpdir(), 'trimp-api-'));
let baseUrl = '';
let token = '';
const auth = () => ['-H', `Authorization: Bearer ${token}`];

beforeAll(async () => {
  const seeded = await cli(['sandbox', 'seed', '--dir', dir, '--users', '50', '--activities', '20000', '--json']);
  expect(seeded.exitCode, seeded.stderr).toBe(0);
  expect(jsonOf(seeded)).toMatchObject({ users: 50, activities: 20000 });
  const started = jsonOf<{ base_url: string; token_file: string }>(
    await cli(['sandbox', 'start', '--dir', dir, '--traffic', '40', '--json']),
  );
  baseUrl = started.base_url;
  token = readFileSync(started.token_file, 'utf8').trim();
  await sleep(1500);
});
afterAll(async () => {
  await cli(['sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
});

const ADMIN_PATHS = [
  '/api/admin/feature-flags',
  '/api/admin/trimp-performance-metrics',
  '/api/admin/trimp-calculation-stats',
  '/api/admin/trimp-settings',
  '/api/admin/feedback/summary',
  '/api/admin/monitoring/dashboard',
  '/api/admin/feature-flags/enhanced_trimp_calculation/evaluate?user_id=1',
];

describe('the sandbox admin API, as the seed uses it', () => {
  it('answers every admin endpoint only with the token', async () => {
    for (const path of ADMIN_PATHS) {
      expect((await fetch(`${baseUrl}${path}`)).status, path).toBe(401);
      expect((await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).status, path).toBe(200);
    }
  });

  it("runs the seed's assess and monitor lines with curl, and jq finds system_metrics", async () => {
    const metrics = await execa('sh', [
      '-c',
      `curl -s ${auth()
        .map((a) => `'${a}'`)
        .join(' ')} ${baseUrl}/api/admin/trimp-performance-metrics | jq .performance_metrics.system_metrics`,
    ]);
    const system = JSON.parse(metrics.stdout) as Record<string, unknown>;
    expect(system).toMatchObject({
      requests: expect.any(Number),
      errors: expect.any(Number),
      error_rate: expect.any(Number),
      latency_ms: { p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) },
      trimp_calculations: expect.any(Number),
      trimp_failures: expect.any(Number),
      per_method: expect.any(Object),
    });
    expect(system.requests as number).toBeGreaterThan(10); // the traffic moves it

    const curl = async (path: string) =>
      JSON.parse((await execa('curl', ['-sf', ...auth(), `${baseUrl}${path}`])).stdout) as Record<string, unknown>;
    const stats = (await curl('/api/admin/trimp-calculation-stats')) as {
      stats: { method: string; count: number; avg_trimp: number; min_trimp: number; max_trimp: number }[];
    };
    expect(stats.stats.map((s) => s.method).sort()).toEqual(['average', 'stream']);
    for (const s of stats.stats) expect(s.min_trimp).toBeLessThanOrEqual(s.avg_trimp);
    expect(await curl('/api/admin/feedback/summary')).toMatchObject({ success: true, summary: expect.any(Array) });
    expect(await curl('/api/admin/monitoring/dashboard')).toMatchObject({
      process: { uptime_s: expect.any(Number), rss_bytes: expect.any(Number) },
      event_loop_lag_ms: { p99: expect.any(Number) },
      host: { disk_free_bytes: expect.any(Number), load_average: expect.any(Array) },
    });
    expect(await curl('/health')).toMatchObject({ status: 'healthy', activity_count_check: expect.any(Number), version: '1.1.0' });
  });

  it('keeps the logs the seed tails, one timestamped line per event', () => {
    const lines = readFileSync(join(dir, 'app/logs/application.log'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines.slice(-5)) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|ERROR) \S/);
    expect(readFileSync(join(dir, 'app/logs/trimp_calculation.log'), 'utf8')).toMatch(
      /INFO user_id=\d+ user_type=\w+ method=(stream|average) trimp=[\d.]+/,
    );
  });

  it('holds a realistic history, and traffic keeps writing to it with the method the flag picks', async () => {
    const db = new Database(join(dir, 'training_data.db'), { readonly: true });
    try {
      const span = db
        .prepare("SELECT julianday(MAX(date)) - julianday(MIN(date)) AS days FROM activities WHERE name != 'Synced activity'")
        .get() as { days: number };
      expect(span.days).toBeGreaterThan(2 * 365);
      const streams = (db.prepare('SELECT COUNT(*) AS n FROM hr_streams').get() as { n: number }).n;
      expect(streams / 20000).toBeGreaterThan(0.1);
      const mismatched = db
        .prepare(
          "SELECT COUNT(*) AS n FROM activities a JOIN hr_streams s USING (activity_id) WHERE a.trimp_calculation_method != 'stream'",
        )
        .get() as { n: number };
      expect(mismatched.n).toBe(0);
      const hr = db.prepare('SELECT MIN(avg_heart_rate) AS lo, MAX(avg_heart_rate) AS hi FROM activities').get() as {
        lo: number;
        hi: number;
      };
      expect(hr.lo).toBeGreaterThan(60);
      expect(hr.hi).toBeLessThan(200);
    } finally {
      db.close();
    }

    const synced = () => {
      const d = new Database(join(dir, 'training_data.db'), { readonly: true });
      try {
        return d
          .prepare(
            "SELECT trimp_calculation_method AS method, COUNT(*) AS n FROM activities WHERE name = 'Synced activity' GROUP BY method",
          )
          .all() as { method: string; n: number }[];
      } finally {
        d.close();
      }
    };
    expect(synced().find((r) => r.method === 'stream')?.n ?? 0).toBeGreaterThan(0);
    await cli(['flag', '--all', '--yes', '--config', join(dir, 'trimp-rollback.yaml')]);
    const streamBefore = synced().find((r) => r.method === 'stream')?.n ?? 0;
    await sleep(1500);
    const after = synced();
    expect(after.find((r) => r.method === 'stream')?.n ?? 0).toBe(streamBefore); // no new enhanced rows
    expect(after.find((r) => r.method === 'average')?.n ?? 0).toBeGreaterThan(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi } from '../../src/target/admin-api.js';
import { readSystemMetricsOf } from '../../src/target/metrics.js';
import { type HostileServer, startHostileServer } from '../helpers/hostile-server.js';

/**
 * A gradual window's samples add the instances' metrics up. Two real HTTP servers answer fixed
 * figures; the expected sums were worked out by hand: counts add, the error rate is recomputed
 * from the sums (not averaged), p95 and p99 are the worst instance's.
 */
const figures = (requests: number, errors: number, p95: number, perType: Record<string, [number, number, number]>) => ({
  success: true,
  performance_metrics: {
    system_metrics: {
      requests,
      errors,
      error_rate: errors / requests,
      latency_ms: { p50: p95 / 4, p95, p99: p95 * 2 },
      window_seconds: 5,
      per_user_type: Object.fromEntries(
        Object.entries(perType).map(([type, [n, e, p]]) => [
          type,
          { requests: n, errors: e, error_rate: e / n, latency_ms: { p50: p / 4, p95: p, p99: p * 2 } },
        ]),
      ),
    },
  },
});

let a: HostileServer;
let b: HostileServer;
let broken: HostileServer;

beforeAll(async () => {
  const answer = (body: unknown) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  a = await startHostileServer(answer(figures(100, 5, 200, { regular: [60, 5, 200], beta: [40, 0, 120] })));
  b = await startHostileServer(answer(figures(50, 10, 400, { regular: [50, 10, 400] })));
  broken = await startHostileServer((_req, res) => {
    res.writeHead(500);
    res.end('{}');
  });
});
afterAll(async () => {
  await Promise.all([a, b, broken].map((s) => s.close()));
});

describe('the metrics of several instances, read as one app', () => {
  it('adds the counts, recomputes the error rate from them, and takes the worst p95', async () => {
    const apis = [a, b].map((s) => new AdminApi(s.url, undefined, 2000));
    const m = await readSystemMetricsOf(apis, 5);
    // 100 + 50 requests, 5 + 10 errors: 15 / 150 = 0.1 (the mean of 0.05 and 0.2 would be 0.125).
    expect(m.requests).toBe(150);
    expect(m.errors).toBe(15);
    expect(m.error_rate).toBeCloseTo(0.1, 12);
    expect(m.latency_ms).toEqual({ p50: 100, p95: 400, p99: 800 });
    expect(m.per_user_type?.regular).toMatchObject({ requests: 110, errors: 15, latency_ms: { p95: 400 } });
    expect(m.per_user_type?.regular?.error_rate).toBeCloseTo(15 / 110, 12);
    // Only instance A saw beta users: its figures stand alone.
    expect(m.per_user_type?.beta).toMatchObject({ requests: 40, errors: 0, error_rate: 0 });
    for (const api of apis) api.close();
  });

  it('one instance that cannot be read fails the read: half the app is not the app', async () => {
    const apis = [a, broken].map((s) => new AdminApi(s.url, undefined, 2000));
    await expect(readSystemMetricsOf(apis, 5)).rejects.toThrow(/500/);
    for (const api of apis) api.close();
  });
});

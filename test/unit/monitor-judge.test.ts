import { describe, expect, it } from 'vitest';
import { type Condition, conditionSchema } from '../../src/monitor/conditions.js';
import { judgeWindow, type Sample, type SliceFigures } from '../../src/monitor/judge.js';

const condition = (c: Record<string, unknown>): Condition => conditionSchema.parse(c);
const errorRate = condition({ metric: 'error_rate', max: 0.02, min_requests: 20 });

/** A sample where each user type had `requests` requests and `errors` errors (p95 in ms). */
function sample(per: Record<string, [requests: number, errors: number, p95?: number]>): Sample {
  const slices: Record<string, SliceFigures> = {};
  let all: SliceFigures = { requests: 0, errors: 0, p95_ms: 0 };
  for (const [type, [requests, errors, p95 = 5]] of Object.entries(per)) {
    slices[type] = { requests, errors, p95_ms: p95, calculations: requests, failures: errors };
    all = { requests: all.requests + requests, errors: all.errors + errors, p95_ms: Math.max(all.p95_ms, p95) };
  }
  return { at: new Date(0).toISOString(), slices: { all, ...slices } };
}

describe('a monitoring window', () => {
  it('is recovered only when every condition holds for every user type on enough requests', () => {
    const window = [
      sample({ admin: [10, 0], beta: [10, 0], regular: [10, 0] }),
      sample({ admin: [10, 0], beta: [10, 0], regular: [10, 0] }),
    ];
    const judged = judgeWindow([errorRate], window);
    expect(judged.decision).toBe('recovered');
    expect(judged.findings.map((f) => [f.slice, f.value, f.evidence, f.verdict])).toEqual([
      ['admin', 0, 20, 'holds'],
      ['beta', 0, 20, 'holds'],
      ['regular', 0, 20, 'holds'],
    ]);
  });

  it('is failing when a user type breaches a condition in the window and in its recent half', () => {
    // beta: 6 errors in 30 requests = 20% over the window; the recent half (the last sample) 3/15 = 20%.
    const window = [
      sample({ admin: [15, 0], beta: [15, 3], regular: [15, 0] }),
      sample({ admin: [15, 0], beta: [15, 3], regular: [15, 0] }),
    ];
    const judged = judgeWindow([errorRate], window);
    expect(judged.decision).toBe('failing');
    expect(judged.reasons).toEqual(['beta: error rate 20.0% on 30 requests (above 2.0%)']);
  });

  it('is inconclusive when a type has too little traffic, and says how much it saw', () => {
    const window = [sample({ admin: [3, 0], beta: [25, 0], regular: [25, 0] })];
    const judged = judgeWindow([errorRate], window);
    expect(judged.decision).toBe('inconclusive');
    expect(judged.reasons).toEqual(['too little traffic to judge admin (3): 20 requests needed in the window']);
  });

  it('is inconclusive (mixed) when a breach over the window has stopped in its recent half', () => {
    // regular: 10/20 errors then 0/20: 25% over the window, 0% recently.
    const window = [
      sample({ admin: [20, 0], beta: [20, 0], regular: [20, 10] }),
      sample({ admin: [20, 0], beta: [20, 0], regular: [20, 0] }),
    ];
    const judged = judgeWindow([errorRate], window);
    expect(judged.decision).toBe('inconclusive');
    expect(judged.reasons).toEqual(['mixed: regular: error rate 25.0% on 40 requests (above 2.0%), but 0.0% in the recent half']);
  });

  it('with no traffic at all is inconclusive, never recovered', () => {
    const judged = judgeWindow([errorRate], [sample({}), sample({})]);
    expect(judged.decision).toBe('inconclusive');
  });

  it('weights p95 by requests across samples (the API gives percentiles per sample, not raw latencies)', () => {
    // admin: (10 × 100 + 30 × 500) / 40 = 400 ms.
    const p95 = condition({ metric: 'p95_latency_ms', max: 450, min_requests: 20, per: 'user-type' });
    const window = [
      sample({ admin: [10, 0, 100], beta: [20, 0], regular: [20, 0] }),
      sample({ admin: [30, 0, 500], beta: [20, 0], regular: [20, 0] }),
    ];
    const judged = judgeWindow([p95], window);
    expect(judged.findings.find((f) => f.slice === 'admin')?.value).toBe(400);
    expect(judged.decision).toBe('recovered');
  });

  it('judges over all users when the app gives no per-type figures', () => {
    const window: Sample[] = [{ at: '', slices: { all: { requests: 50, errors: 0, p95_ms: 3 } } }];
    const judged = judgeWindow([errorRate], window);
    expect(judged.findings.map((f) => f.slice)).toEqual(['all']);
    expect(judged.decision).toBe('recovered');
  });

  it('counts error-log lines matched by the pattern, and needs the log in every sample', () => {
    const log = condition({ metric: 'log_errors', max: 0, min_requests: 20, per: 'all', pattern: 'TRIMP' });
    const clean: Sample = { ...sample({ admin: [20, 0] }), log_errors: { TRIMP: 0 } };
    const dirty: Sample = { ...sample({ admin: [20, 0] }), log_errors: { TRIMP: 2 } };
    expect(judgeWindow([log], [clean, clean]).decision).toBe('recovered');
    expect(judgeWindow([log], [dirty, dirty]).reasons).toEqual([
      'all users: error-log lines matching /TRIMP/ 4 lines on 40 requests (above 0 lines)',
    ]);
    expect(judgeWindow([log], [clean, sample({ admin: [20, 0] })]).decision).toBe('inconclusive');
  });

  it('a figure the app does not report is said to be missing, not taken for too little traffic', () => {
    const failures = condition({ metric: 'trimp_failure_rate', max: 0.01, min_requests: 10, per: 'all' });
    const window: Sample[] = [{ at: '', slices: { all: { requests: 500, errors: 0, p95_ms: 3 } } }];
    expect(judgeWindow([failures], window)).toMatchObject({
      decision: 'inconclusive',
      reasons: ['cannot judge TRIMP failure rate: not reported in every sample'],
    });
  });

  it('a sample without per-type figures (or without failures) is not counted as zero for any type', () => {
    const good = sample({ admin: [20, 0], beta: [20, 0], regular: [20, 0] });
    // The errors are in the sample that has no per-type slices: they must not vanish.
    const untyped: Sample = { at: '', slices: { all: { requests: 60, errors: 9, p95_ms: 3 } } };
    expect(judgeWindow([errorRate], [good, untyped, good])).toMatchObject({
      decision: 'inconclusive',
      reasons: ['cannot judge error rate per user type: not reported in every sample'],
    });
    const failures = condition({ metric: 'trimp_failure_rate', max: 0.01, min_requests: 10, per: 'all' });
    const noFailures: Sample = { at: '', slices: { all: { requests: 60, errors: 0, p95_ms: 3, calculations: 60 } } };
    expect(judgeWindow([failures], [noFailures]).decision).toBe('inconclusive');
  });

  it('an unreadable sample is no evidence, and the window says how many it lost', () => {
    const good = sample({ admin: [20, 0], beta: [20, 0], regular: [20, 0] });
    const judged = judgeWindow([errorRate], [good, { at: '', slices: {}, error: 'HTTP 500' }]);
    expect(judged.decision).toBe('recovered');
    expect(judged.reasons.at(-1)).toBe('1 of 2 samples could not be read (HTTP 500)');
  });

  it('refuses conditions that cannot be judged as written', () => {
    expect(conditionSchema.safeParse({ metric: 'error_rate', max: 2 }).error?.issues[0]?.message).toMatch(/a share from 0 to 1/);
    expect(conditionSchema.safeParse({ metric: 'log_errors', max: 0 }).error?.issues[0]?.message).toMatch(/per: all/);
    expect(conditionSchema.safeParse({ metric: 'log_errors', max: 0, per: 'all', pattern: '(' }).success).toBe(false);
    expect(conditionSchema.safeParse({ metric: 'latency', max: 1 }).success).toBe(false);
  });
});

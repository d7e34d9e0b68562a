import { messageOf } from '../errors.js';
import type { Figures, SystemMetrics } from '../target/metrics.js';
import { USER_TYPES } from '../target/user-types.js';
import type { Condition } from './conditions.js';
import type { Sample, SliceFigures } from './judge.js';

export interface SampleSource {
  /** The whole app's figures over the last `windowS` seconds (every instance's, added up). */
  metrics: (windowS: number, signal: AbortSignal) => Promise<SystemMetrics>;
  /** A sample slower than this is lost (said), so that a slow app cannot stretch the window. */
  timeoutMs: number;
  /** The app's error lines in a span, when a condition counts them (undefined: no log). */
  errorLines: (from: Date, until: Date) => Promise<string[] | undefined>;
  /** Where those lines come from, for a sample that cannot read them. */
  logsWhere: string;
  conditions: Condition[];
  signal: AbortSignal;
}

/**
 * One look at the last `intervalS` seconds: the performance metrics (all users and each user
 * type) and, for log conditions, the error-log lines stamped in that span. A failed read is kept
 * as a sample that says why: it is no evidence, and the window says how many it lost.
 */
export async function takeSample(source: SampleSource, from: Date, until: Date): Promise<Sample> {
  const at = until.toISOString();
  const intervalS = Math.max(0.05, (until.getTime() - from.getTime()) / 1000);
  const limit = AbortSignal.timeout(source.timeoutMs);
  try {
    const metrics = await source.metrics(intervalS, AbortSignal.any([source.signal, limit]));
    // An app that ignores ?window= answers for a longer span: consecutive samples would overlap and
    // count the same requests (and the errors from before the change) again.
    if (metrics.window_seconds !== undefined && metrics.window_seconds > intervalS * 2 + 1)
      return {
        at,
        slices: {},
        error: `the metrics cover ${metrics.window_seconds} s, not the ${intervalS.toFixed(1)} s asked (the app ignores ?window=): samples would overlap`,
      };
    const types = Object.keys(metrics.per_user_type ?? {});
    if (metrics.per_user_type && metrics.requests > 0 && !USER_TYPES.some((type) => types.includes(type)))
      return {
        at,
        slices: {},
        error: `per_user_type names none of ${USER_TYPES.join(', ')} (${types.length ? `it has ${types.slice(0, 5).join(', ')}` : 'it is empty'}) for ${metrics.requests} requests`,
      };
    const slices: Record<string, SliceFigures> = { all: sliceOf(metrics) };
    for (const type of USER_TYPES) {
      const figures = metrics.per_user_type?.[type];
      // A type the app leaves out had no requests in the interval (none of them calculations, if it counts those).
      const none = {
        requests: 0,
        errors: 0,
        p95_ms: 0,
        ...(metrics.trimp_calculations !== undefined ? { calculations: 0, failures: 0 } : {}),
      };
      if (metrics.per_user_type) slices[type] = figures ? sliceOf(figures) : none;
    }
    const sample: Sample = { at, slices };
    const patterns = [...new Set(source.conditions.flatMap((c) => (c.metric === 'log_errors' ? [c.pattern ?? ''] : [])))];
    if (patterns.length > 0) {
      const lines = await source.errorLines(from, until);
      if (lines === undefined) return { at, slices, error: `no error log: nothing in ${source.logsWhere}` };
      sample.log_errors = Object.fromEntries(
        patterns.map((p) => [p, p ? lines.filter((l) => new RegExp(p).test(l)).length : lines.length]),
      );
    }
    return sample;
  } catch (error) {
    if (limit.aborted && !source.signal.aborted)
      return { at, slices: {}, error: `no answer within ${source.timeoutMs} ms (a sample may not outlast its interval)` };
    return { at, slices: {}, error: messageOf(error) };
  }
}

function sliceOf(figures: Figures): SliceFigures {
  return {
    requests: figures.requests,
    errors: figures.errors,
    p95_ms: figures.latency_ms.p95,
    ...(figures.trimp_calculations !== undefined ? { calculations: figures.trimp_calculations } : {}),
    ...(figures.trimp_failures !== undefined ? { failures: figures.trimp_failures } : {}),
  };
}

/** One line of live figures: "regular 0/41 err · beta 5/22 err (23%) · admin 0/11 err, p95 12 ms". */
export function describeSample(sample: Sample): string {
  if (sample.error) return `unreadable: ${sample.error}`;
  const names = USER_TYPES.some((type) => sample.slices[type]) ? [...USER_TYPES] : ['all'];
  const parts = names.map((name) => {
    const f = sample.slices[name] ?? { requests: 0, errors: 0, p95_ms: 0 };
    const rate = f.requests ? ` (${Math.round((f.errors / f.requests) * 100)}%)` : '';
    return `${name} ${f.errors}/${f.requests} err${rate}`;
  });
  const p95 = sample.slices.all?.p95_ms ?? 0;
  const log = sample.log_errors ? `, error.log +${Math.max(...Object.values(sample.log_errors))}` : '';
  return `${parts.join(' · ')}, p95 ${Math.round(p95)} ms${log}`;
}

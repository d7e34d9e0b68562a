import { z } from 'zod';
import { TrimpError } from '../errors.js';
import type { AdminApi } from './admin-api.js';

/**
 * The app's performance metrics (`GET /api/admin/trimp-performance-metrics`,
 * `performance_metrics.system_metrics`), read once and checked: a rollback decides on these
 * figures, so an answer of the wrong shape is an error that says so, never a zero.
 */
const count = z.number().int().nonnegative();
const rate = z.number().min(0).max(1);
const ms = z.number().nonnegative();

const figureFields = {
  requests: count,
  errors: count,
  error_rate: rate,
  latency_ms: z.object({ p50: ms, p95: ms, p99: ms }),
  /** TRIMP calculations and their failures, when the app counts them (the sandbox does, per type too). */
  trimp_calculations: count.optional(),
  trimp_failures: count.optional(),
};

/** Counts that cannot be true together are a broken answer, not figures to judge. */
function possible(f: { requests: number; errors: number; trimp_calculations?: number | undefined; trimp_failures?: number | undefined }) {
  return f.errors <= f.requests && (f.trimp_failures ?? 0) <= (f.trimp_calculations ?? Number.POSITIVE_INFINITY);
}
const IMPOSSIBLE = { message: 'more errors than requests, or more TRIMP failures than calculations' };

const figures = z.object(figureFields).refine(possible, IMPOSSIBLE);

const systemMetrics = z
  .object({
    ...figureFields,
    /** The span the figures cover, when the app says (it honours ?window=SECONDS). */
    window_seconds: z.number().positive().optional(),
    /** Figures per user type, when the app gives them. */
    per_user_type: z.record(z.string(), figures).optional(),
    /** Figures per endpoint, when the source records it (the public app's api_logs does). */
    per_endpoint: z.record(z.string(), figures).optional(),
  })
  .refine(possible, IMPOSSIBLE);

export type Figures = z.output<typeof figures>;
export type SystemMetrics = z.output<typeof systemMetrics>;

export const METRICS_PATH = 'api/admin/trimp-performance-metrics';

/** The figures over the last `windowS` seconds (the app may cover another span: see window_seconds). */
export async function readSystemMetrics(api: AdminApi, windowS: number, signal?: AbortSignal): Promise<SystemMetrics> {
  const body = await api.getOk<unknown>(`${METRICS_PATH}?window=${windowS.toFixed(2)}`, signal ? { signal } : {});
  const parsed = z.object({ performance_metrics: z.object({ system_metrics: systemMetrics }) }).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrimpError(
      'metrics-shape',
      `the metrics endpoint answered an unexpected shape: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
      {
        remedy: `check GET ${METRICS_PATH} by hand; performance_metrics.system_metrics must hold requests, errors, error_rate, latency_ms`,
      },
    );
  }
  return parsed.data.performance_metrics.system_metrics;
}

/**
 * The figures of several instances as one app: counts are added; p95 and p99 are each the worst
 * instance's (percentiles cannot be merged without the raw latencies, and the worst instance's is
 * an upper bound on the whole). One instance that cannot be read makes the whole read fail: a
 * sample of half the app is not a sample of the app.
 */
export async function readSystemMetricsOf(apis: readonly AdminApi[], windowS: number, signal?: AbortSignal): Promise<SystemMetrics> {
  const all = await Promise.all(apis.map((api) => readSystemMetrics(api, windowS, signal)));
  if (all.length === 1) return all[0] as SystemMetrics;
  const combined = addFigures(all) as SystemMetrics;
  const spans = all.flatMap((m) => (m.window_seconds === undefined ? [] : [m.window_seconds]));
  if (spans.length > 0) combined.window_seconds = Math.max(...spans);
  if (all.some((m) => m.per_user_type)) {
    const types = [...new Set(all.flatMap((m) => Object.keys(m.per_user_type ?? {})))];
    combined.per_user_type = Object.fromEntries(
      types.map((type) => [type, addFigures(all.flatMap((m) => (m.per_user_type?.[type] ? [m.per_user_type[type]] : [])))]),
    );
  }
  return combined;
}

function addFigures(parts: readonly Figures[]): Figures {
  const sum = (pick: (f: Figures) => number) => parts.reduce((n, f) => n + pick(f), 0);
  const worst = (pick: (f: Figures) => number) => Math.max(0, ...parts.map(pick));
  const requests = sum((f) => f.requests);
  const errors = sum((f) => f.errors);
  const optional = (key: 'trimp_calculations' | 'trimp_failures') =>
    parts.some((f) => f[key] !== undefined) ? { [key]: sum((f) => f[key] ?? 0) } : {};
  return {
    requests,
    errors,
    error_rate: requests > 0 ? errors / requests : 0,
    latency_ms: { p50: worst((f) => f.latency_ms.p50), p95: worst((f) => f.latency_ms.p95), p99: worst((f) => f.latency_ms.p99) },
    ...optional('trimp_calculations'),
    ...optional('trimp_failures'),
  };
}

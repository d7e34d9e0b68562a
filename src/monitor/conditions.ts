import { z } from 'zod';

/**
 * What a monitoring window judges, as a runbook writes it. Each condition is a ceiling on one
 * figure, judged per user type (where the metrics give per-type figures) or over all users,
 * and only on enough evidence: fewer requests than `min_requests` is "too little traffic",
 * never a pass.
 */
export const METRICS = {
  error_rate: { label: 'error rate', unit: 'share', evidence: 'requests' },
  trimp_failure_rate: { label: 'TRIMP failure rate', unit: 'share', evidence: 'calculations' },
  p95_latency_ms: { label: 'p95 latency', unit: 'ms', evidence: 'requests' },
  log_errors: { label: 'error-log lines', unit: 'lines', evidence: 'requests' },
} as const;
export type MetricName = keyof typeof METRICS;

export const conditionSchema = z
  .object({
    metric: z.enum(Object.keys(METRICS) as [MetricName, ...MetricName[]]),
    /** The highest value that still counts as healthy (a share 0–1, milliseconds, or lines). */
    max: z.number().nonnegative(),
    /** The evidence a verdict needs: requests (calculations for trimp_failure_rate) in the window. */
    min_requests: z.number().int().min(1).default(20),
    per: z.enum(['user-type', 'all']).default('user-type'),
    /** log_errors: only error lines matching this regular expression count. */
    pattern: z
      .string()
      .refine((text) => isRegExp(text), 'not a valid regular expression')
      .optional(),
  })
  .strict()
  .refine((c) => c.metric !== 'log_errors' || c.per === 'all', {
    message: 'log_errors is judged over all users: add per: all',
    path: ['per'],
  })
  .refine((c) => c.pattern === undefined || c.metric === 'log_errors', { message: 'pattern applies to log_errors only', path: ['pattern'] })
  .refine((c) => METRICS[c.metric].unit !== 'share' || c.max <= 1, {
    message: 'a rate is a share from 0 to 1 (0.02 is 2%)',
    path: ['max'],
  });

export type Condition = z.output<typeof conditionSchema>;

function isRegExp(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}

/** "error rate ≤ 2% per user type (≥ 20 requests)". */
export function describeCondition(c: Condition): string {
  const spec = METRICS[c.metric];
  const scope = c.per === 'all' ? 'over all users' : 'per user type';
  const pattern = c.pattern ? ` matching /${c.pattern}/` : '';
  return `${spec.label}${pattern} ≤ ${formatValue(c.metric, c.max)} ${scope} (≥ ${c.min_requests} ${spec.evidence})`;
}

export function formatValue(metric: MetricName, value: number): string {
  switch (METRICS[metric].unit) {
    case 'share':
      return `${(value * 100).toFixed(value > 0 && value < 0.01 ? 2 : 1)}%`;
    case 'ms':
      return `${Math.round(value)} ms`;
    case 'lines':
      return `${value} line${value === 1 ? '' : 's'}`;
  }
}

import { TrimpError } from '../errors.js';
import { USER_AGENT } from './admin-api.js';
import type { SqlDatabase } from './database.js';
import type { Figures, SystemMetrics } from './metrics.js';
import type { UserType } from './user-types.js';

/** Requests that are not users': the app's health probe and its login page. */
const NOT_USER_ENDPOINTS = ['health', 'health_check', '/health', 'login', '/login'];

/** More rows than this in one window are not read: the newest are, and the window says the span they cover. */
const MAX_ROWS = 200_000;

interface LoggedRequest {
  endpoint: string;
  user_id: number | null;
  status_code: number | null;
  response_time_ms: number | null;
  at: string | Date;
}

/**
 * The app's figures over the last `windowS` seconds, from its own record of every request (the
 * public app's `api_logs` table, written after each response): the requests users made (not the
 * tool's, by its user agent, nor health probes), those answered 5xx, and their latency. Every
 * instance writes the same table, so this is the whole app. Per user type by the app's own rule.
 */
export async function apiLogsMetrics(
  db: SqlDatabase,
  windowS: number,
  userTypeOf: (userId: number) => UserType,
  now = new Date(),
): Promise<SystemMetrics> {
  const from = new Date(now.getTime() - windowS * 1000);
  // The bounds as instants: a "timestamp" column without a time zone (the app's NOW() in the
  // database's zone) is compared in the session's zone, which is the database's, not as UTC text.
  const instant = db.kind === 'postgres' ? '?::timestamptz' : '?';
  let rows: LoggedRequest[];
  try {
    rows = await db.all<LoggedRequest>(
      `SELECT endpoint, user_id, status_code, response_time_ms, "timestamp" AS at FROM api_logs
       WHERE "timestamp" >= ${instant} AND "timestamp" < ${instant} AND (user_agent IS NULL OR user_agent NOT LIKE ?)
         AND endpoint NOT IN (${NOT_USER_ENDPOINTS.map(() => '?').join(', ')})
       ORDER BY "timestamp" DESC LIMIT ${MAX_ROWS}`,
      [from.toISOString(), now.toISOString(), `${USER_AGENT.split('/')[0]}/%`, ...NOT_USER_ENDPOINTS],
    );
  } catch (error) {
    throw new TrimpError(
      'metrics-source',
      `the app's request log (api_logs) cannot be read in ${db.location}: ${(error as Error).message}`,
      {
        remedy: 'the trainingmonkey profile reads user errors and latency from api_logs: check target.database',
      },
    );
  }
  const byType = new Map<UserType, LoggedRequest[]>();
  const byEndpoint = new Map<string, LoggedRequest[]>();
  for (const row of rows) {
    const same = byEndpoint.get(row.endpoint);
    if (same) same.push(row);
    else byEndpoint.set(row.endpoint, [row]);
    if (row.user_id === null) continue;
    const type = userTypeOf(Number(row.user_id));
    const list = byType.get(type);
    if (list) list.push(row);
    else byType.set(type, [row]);
  }
  // A busy window read only in part: the figures are the newest requests', over the span they cover.
  const oldest = rows.length === MAX_ROWS ? new Date(rows[rows.length - 1]?.at ?? from) : undefined;
  const covered = oldest && !Number.isNaN(oldest.getTime()) ? Math.max(0.05, (now.getTime() - oldest.getTime()) / 1000) : windowS;
  return {
    ...figuresOf(rows),
    window_seconds: Number(covered.toFixed(2)),
    per_user_type: Object.fromEntries([...byType].map(([type, list]) => [type, figuresOf(list)])),
    per_endpoint: Object.fromEntries([...byEndpoint].map(([endpoint, list]) => [endpoint, figuresOf(list)])),
  };
}

function figuresOf(rows: readonly LoggedRequest[]): Figures {
  const errors = rows.filter((row) => Number(row.status_code) >= 500).length;
  const latencies = rows.map((row) => Number(row.response_time_ms ?? 0)).sort((a, b) => a - b);
  return {
    requests: rows.length,
    errors,
    error_rate: rows.length > 0 ? errors / rows.length : 0,
    latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) },
  };
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

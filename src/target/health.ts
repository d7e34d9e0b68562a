import type { AdminApi } from './admin-api.js';

/** What /health says, judged by its body: the public app answers 200 even with its database gone. */
export interface Health {
  healthy: boolean;
  http_status: number;
  status: string | undefined;
  /** database_connection_status, when the app says (the public app does). */
  database: string | undefined;
  version: string | undefined;
  /** What the app says went wrong, when it says (the seed's app: its `error`). */
  error: string | undefined;
  /** Why it is not healthy, in a few words ("HTTP 503, status unhealthy", "database not connected"). */
  problem: string | undefined;
}

/**
 * GET /health. Healthy only when it answers 200 with status "healthy" and, when the app reports
 * its database connection, "connected": the HTTP code alone proves nothing on an app whose
 * health endpoint never fails (a container check with curl -f would never see the outage).
 */
export async function readHealth(api: AdminApi, signal?: AbortSignal): Promise<Health> {
  const response = await api.get('health', signal ? { signal } : {});
  const body = (response.body && typeof response.body === 'object' ? response.body : {}) as Record<string, unknown>;
  const status = typeof body.status === 'string' ? body.status : undefined;
  const database = typeof body.database_connection_status === 'string' ? body.database_connection_status : undefined;
  const version = typeof body.version === 'string' ? body.version : undefined;
  const error = typeof body.error === 'string' ? body.error : undefined;
  const problems = [
    ...(response.status !== 200 ? [`${response.status}`] : []),
    ...(status !== 'healthy' ? [`status ${status ?? '(none)'}`] : []),
    ...(database !== undefined && database !== 'connected' ? [`database ${database}`] : []),
  ];
  return {
    healthy: problems.length === 0,
    http_status: response.status,
    status,
    database,
    version,
    error,
    problem: problems.length > 0 ? `${problems.join(', ')}${error ? `: ${error}` : ''}` : undefined,
  };
}

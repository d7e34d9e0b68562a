import { z } from 'zod';
import { apiUrl } from '../target/admin-api.js';
import { defineAction } from './action.js';
import { whenAppReachable } from './app-reachability.js';
import { appRequirement } from './params.js';

const params = z.object({ app: appRequirement }).strict();
type Params = z.output<typeof params>;

interface HealthBody {
  status?: string;
  version?: string;
  database_connection_status?: string;
}

export const appHealth = defineAction<Params>({
  name: 'app.health',
  description: 'GET /health: the app answers 200 with status "healthy".',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: (_params, info) => [{ kind: 'http', text: `GET ${apiUrl(info.baseUrl, 'health')}` }],
  async run({ app }, ctx) {
    const warnings: string[] = [];
    const started = performance.now();
    const response = await whenAppReachable(app, warnings, 'health check', () => ctx.target.api.get('health', { signal: ctx.signal }));
    if (!response) return { status: 'warned', summary: 'not checked: the app is unreachable', warnings };
    const latencyMs = Math.round(performance.now() - started);
    const body = (response.body ?? {}) as HealthBody;
    const evidence = {
      http_status: response.status,
      status: body.status,
      version: body.version,
      database: body.database_connection_status,
      latency_ms: latencyMs,
    };
    if (response.status !== 200 || body.status !== 'healthy') {
      return { status: 'failed', summary: `health answered HTTP ${response.status}, status ${String(body.status)}`, evidence };
    }
    return {
      status: 'succeeded',
      summary: `healthy (HTTP 200 in ${latencyMs} ms${body.version ? `, version ${body.version}` : ''})`,
      evidence,
    };
  },
});

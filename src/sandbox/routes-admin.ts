import { statfsSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { IntervalHistogram } from 'node:perf_hooks';
import { isUserType, USER_TYPES } from '../target/user-types.js';
import { activeFaults, type FaultState } from './faults.js';
import { HttpError, ok, type Reply, type Route } from './http.js';
import type { AppLogs } from './logs.js';
import type { Metrics } from './metrics.js';
import type { Release } from './release.js';
import { EXPECTED_TABLES } from './schema.js';
import type { SandboxStore } from './store.js';

export interface AdminRouteContext {
  store: SandboxStore;
  logs: AppLogs;
  metrics: Metrics;
  release: Release & { commit: string | undefined };
  faults: () => FaultState;
  eventLoop: IntervalHistogram;
  dir: string;
}

/** `/health` and the seed's admin API. */
export function adminRoutes(ctx: AdminRouteContext): Route[] {
  const { store } = ctx;
  const route = (method: string, pattern: RegExp, handler: Route['handler'], admin = true): Route => ({ method, pattern, admin, handler });
  return [
    route('GET', /^\/health$/, () => health(ctx), false),
    route('GET', /^\/api\/admin\/feature-flags$/, async () => ok({ flags: await store.flags() })),
    route('POST', /^\/api\/admin\/feature-flags\/([^/]+)\/toggle$/, async ({ params, body }) => {
      const name = decodeURIComponent(params[0] ?? '');
      await store.flag(name);
      const { user_type: userType, enabled } = (body ?? {}) as { user_type?: unknown; enabled?: unknown };
      if (typeof enabled !== 'boolean') throw new HttpError(400, 'body must be {"enabled": true|false} with an optional "user_type"');
      if (userType !== undefined && !isUserType(userType)) throw new HttpError(400, `user_type must be one of ${USER_TYPES.join(', ')}`);
      const types = userType === undefined ? USER_TYPES : [userType];
      await store.setFlag(name, types, enabled, 'admin-api');
      ctx.logs.info(`feature flag ${name} set to ${enabled} for ${types.join(',')}`);
      return ok({ flag: name, states: await store.flag(name) });
    }),
    route('GET', /^\/api\/admin\/feature-flags\/([^/]+)\/evaluate$/, async ({ params, query }) => {
      const name = decodeURIComponent(params[0] ?? '');
      const states = await store.flag(name);
      const user = await store.user(Number(query.get('user_id')));
      return ok({ flag: name, user_id: user.id, user_type: user.user_type, enabled: states[user.user_type] ?? false });
    }),
    route('GET', /^\/api\/admin\/trimp-settings$/, async () => {
      const states = (await store.flags()).enhanced_trimp_calculation ?? {};
      return ok({
        enhanced_trimp_enabled: USER_TYPES.some((type) => states[type]),
        active_method: USER_TYPES.every((type) => !states[type]) ? 'average' : 'stream where enabled and a stream exists',
        constants: { prefactor: 0.64, exponent_male: 1.92, exponent_female: 1.67, rounding: 2 },
        user_access: {
          admin: states.admin ?? false,
          beta_users: { user_2: states.beta ?? false, user_3: states.beta ?? false },
          regular_users: states.regular ?? false,
        },
        rollout_status: {
          admin_enabled: states.admin ?? false,
          beta_enabled: states.beta ?? false,
          general_release: states.regular ?? false,
        },
      });
    }),
    route('GET', /^\/api\/admin\/trimp-performance-metrics$/, ({ query }) => {
      const window = Number(query.get('window') ?? '');
      return ok({
        performance_metrics: { system_metrics: ctx.metrics.snapshot(Number.isFinite(window) && window > 0 ? window * 1000 : undefined) },
      });
    }),
    route('GET', /^\/api\/admin\/trimp-calculation-stats$/, async () => ok({ stats: await store.calculationStats() })),
    route('GET', /^\/api\/admin\/feedback\/summary$/, async () => ok({ summary: await store.feedbackSummary() })),
    route('GET', /^\/api\/admin\/monitoring\/dashboard$/, () => {
      const memory = process.memoryUsage();
      const disk = statfsSync(ctx.dir);
      return ok({
        process: { pid: process.pid, uptime_s: Math.round(process.uptime()), rss_bytes: memory.rss, heap_used_bytes: memory.heapUsed },
        event_loop_lag_ms: {
          mean: round(ctx.eventLoop.mean / 1e6),
          p99: round(ctx.eventLoop.percentile(99) / 1e6),
          max: round(ctx.eventLoop.max / 1e6),
        },
        host: { load_average: loadavg().map(round), disk_free_bytes: disk.bavail * disk.bsize, disk_total_bytes: disk.blocks * disk.bsize },
        release: ctx.release,
        active_faults: activeFaults(ctx.faults()),
        db_generation: ctx.faults().db_generation ?? 0,
      });
    }),
  ];
}

async function health(ctx: AdminRouteContext): Promise<Reply> {
  const base = {
    service: 'trimp-sandbox',
    version: ctx.release.version,
    commit: ctx.release.commit ?? null,
    timestamp: new Date().toISOString(),
  };
  if (ctx.release.defect === 'health') {
    return { status: 503, body: { status: 'unhealthy', ...base, error: `release ${ctx.release.version} fails its start-up checks` } };
  }
  try {
    const tables = await ctx.store.tables();
    const missing = EXPECTED_TABLES.filter((t) => !tables.includes(t));
    const count = await ctx.store.activityCount();
    const healthy = missing.length === 0;
    return {
      status: healthy ? 200 : 503,
      body: {
        status: healthy ? 'healthy' : 'unhealthy',
        ...base,
        database_connection_status: 'connected',
        activity_count_check: count,
        tables,
        ...(healthy ? {} : { missing_tables: missing }),
      },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.logs.error(`health check failed: database error "${message}"`);
    return { status: 503, body: { status: 'unhealthy', ...base, database_connection_status: `error: ${message}` } };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

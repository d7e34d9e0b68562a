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
    route('GET', /^\/api\/admin\/feature-flags$/, () => ok({ flags: store.flags() })),
    route('POST', /^\/api\/admin\/feature-flags\/([^/]+)\/toggle$/, ({ params, body }) => {
      const name = decodeURIComponent(params[0] ?? '');
      store.flag(name);
      const { user_type: userType, enabled } = (body ?? {}) as { user_type?: unknown; enabled?: unknown };
      if (typeof enabled !== 'boolean') throw new HttpError(400, 'body must be {"enabled": true|false} with an optional "user_type"');
      if (userType !== undefined && !isUserType(userType)) throw new HttpError(400, `user_type must be one of ${USER_TYPES.join(', ')}`);
      const types = userType === undefined ? USER_TYPES : [userType];
      store.setFlag(name, types, enabled, 'admin-api');
      ctx.logs.info(`feature flag ${name} set to ${enabled} for ${types.join(',')}`);
      return ok({ flag: name, states: store.flag(name) });
    }),
    route('GET', /^\/api\/admin\/feature-flags\/([^/]+)\/evaluate$/, ({ params, query }) => {
      const name = decodeURIComponent(params[0] ?? '');
      const states = store.flag(name);
      const user = store.user(Number(query.get('user_id')));
      return ok({ flag: name, user_id: user.id, user_type: user.user_type, enabled: states[user.user_type] ?? false });
    }),
    route('GET', /^\/api\/admin\/trimp-settings$/, () => {
      const states = store.flags().enhanced_trimp_calculation ?? {};
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
    route('GET', /^\/api\/admin\/trimp-calculation-stats$/, () =>
      ok({
        stats: store.db
          .prepare(
            `SELECT trimp_calculation_method AS method, COUNT(*) AS count, ROUND(AVG(trimp), 2) AS avg_trimp, MIN(trimp) AS min_trimp,
             MAX(trimp) AS max_trimp FROM activities GROUP BY trimp_calculation_method`,
          )
          .all(),
      }),
    ),
    route('GET', /^\/api\/admin\/feedback\/summary$/, () =>
      ok({
        summary: store.db
          .prepare('SELECT category, COUNT(*) AS count, ROUND(AVG(rating), 2) AS avg_rating FROM user_feedback GROUP BY category')
          .all(),
      }),
    ),
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

function health(ctx: AdminRouteContext): Reply {
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
    const tables = (
      ctx.store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    ).map((t) => t.name);
    const missing = EXPECTED_TABLES.filter((t) => !tables.includes(t));
    const count = (ctx.store.db.prepare('SELECT COUNT(*) AS n FROM activities').get() as { n: number }).n;
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

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Database } from 'better-sqlite3';
import { isUserType, USER_TYPES, type UserType } from '../target/user-types.js';
import { banisterAverage, roundTrimp, type Sex, TrimpInputError } from '../trimp/banister.js';
import { banisterStream } from '../trimp/stream.js';
import type { AppLogs } from './logs.js';
import type { Metrics } from './metrics.js';
import { EXPECTED_TABLES } from './schema.js';

export interface SandboxAppOptions {
  db: Database;
  logs: AppLogs;
  metrics: Metrics;
  token: string;
  version: string;
}

type Reply = { status: number; body: unknown; calculation?: { method: string; failed: boolean } };
type Handler = (request: { params: string[]; query: URLSearchParams; body: unknown }) => Reply;
interface Route {
  method: string;
  pattern: RegExp;
  admin: boolean;
  handler: Handler;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The reference TRIMP app: the admin API of the seed and a user-facing TRIMP calculation,
 * backed by a real SQLite database. The flag is read from the database on every request, so
 * a change made directly in the database (`--via db`) takes effect at once, as in the app.
 */
export function createSandboxApp(options: SandboxAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { db, logs, metrics } = options;
  const tokenBytes = Buffer.from(options.token);
  const flagRows = db.prepare<[], { name: string; user_type: string; enabled: number }>(
    'SELECT name, user_type, enabled FROM feature_flags',
  );
  const flagUpdate = db.prepare('UPDATE feature_flags SET enabled = ?, updated_at = ?, updated_by = ? WHERE name = ? AND user_type = ?');
  const userById = db.prepare<[number], { id: number; user_type: string; resting_hr: number; max_hr: number; gender: string }>(
    'SELECT id, user_type, resting_hr, max_hr, gender FROM user_settings WHERE id = ?',
  );

  const flags = (): Record<string, Partial<Record<UserType, boolean>>> => {
    const out: Record<string, Partial<Record<UserType, boolean>>> = {};
    for (const row of flagRows.all()) {
      if (!isUserType(row.user_type)) continue;
      out[row.name] = { ...out[row.name], [row.user_type]: row.enabled === 1 };
    }
    return out;
  };
  const flagFor = (name: string) => {
    const states = flags()[name];
    if (!states) throw new HttpError(404, `Unknown feature flag: ${name}`);
    return states;
  };
  const user = (id: unknown) => {
    if (!Number.isInteger(id) || (id as number) <= 0) throw new HttpError(400, 'user_id must be a positive integer');
    const row = userById.get(id as number);
    if (!row || !isUserType(row.user_type)) throw new HttpError(404, `Unknown user: ${id}`);
    return row as typeof row & { user_type: UserType };
  };

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/health$/, admin: false, handler: () => health(db, options.version) },
    { method: 'GET', pattern: /^\/api\/admin\/feature-flags$/, admin: true, handler: () => ok({ flags: flags() }) },
    {
      method: 'POST',
      pattern: /^\/api\/admin\/feature-flags\/([^/]+)\/toggle$/,
      admin: true,
      handler: ({ params, body }) => {
        const name = decodeURIComponent(params[0] ?? '');
        flagFor(name);
        const { user_type: userType, enabled } = (body ?? {}) as { user_type?: unknown; enabled?: unknown };
        if (typeof enabled !== 'boolean') throw new HttpError(400, 'body must be {"enabled": true|false} with an optional "user_type"');
        if (userType !== undefined && !isUserType(userType)) throw new HttpError(400, `user_type must be one of ${USER_TYPES.join(', ')}`);
        const types = userType === undefined ? USER_TYPES : [userType];
        const now = new Date().toISOString();
        db.transaction(() => {
          for (const type of types) flagUpdate.run(enabled ? 1 : 0, now, 'admin-api', name, type);
        })();
        logs.info(`feature flag ${name} set to ${enabled} for ${types.join(',')}`);
        return ok({ flag: name, states: flagFor(name) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/feature-flags\/([^/]+)\/evaluate$/,
      admin: true,
      handler: ({ params, query }) => {
        const name = decodeURIComponent(params[0] ?? '');
        const states = flagFor(name);
        const row = user(Number(query.get('user_id')));
        return ok({ flag: name, user_id: row.id, user_type: row.user_type, enabled: states[row.user_type] ?? false });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/trimp-settings$/,
      admin: true,
      handler: () => {
        const states = flags().enhanced_trimp_calculation ?? {};
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
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/trimp-performance-metrics$/,
      admin: true,
      handler: () => ok({ performance_metrics: { system_metrics: metrics.snapshot() } }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/trimp-calculation-stats$/,
      admin: true,
      handler: () =>
        ok({
          stats: db
            .prepare(
              'SELECT trimp_calculation_method AS method, COUNT(*) AS count, AVG(trimp) AS avg_trimp, MIN(trimp) AS min_trimp, MAX(trimp) AS max_trimp FROM activities GROUP BY trimp_calculation_method',
            )
            .all(),
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/feedback\/summary$/,
      admin: true,
      handler: () =>
        ok({
          summary: db.prepare('SELECT category, COUNT(*) AS count, AVG(rating) AS avg_rating FROM user_feedback GROUP BY category').all(),
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/monitoring\/dashboard$/,
      admin: true,
      handler: () => ok({ process: { pid: process.pid, uptime_s: Math.round(process.uptime()), rss_bytes: process.memoryUsage().rss } }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/trimp\/calculate$/,
      admin: false,
      handler: ({ body }) => calculate(body, user, flags, logs),
    },
  ];

  return (req, res) => {
    const started = performance.now();
    const finish = (reply: Reply) => {
      const latencyMs = performance.now() - started;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.body));
      metrics.record({ latencyMs, error: reply.status >= 500, ...(reply.calculation ? { calculation: reply.calculation } : {}) });
      logs.info(`${req.method} ${req.url?.split('?')[0]} ${reply.status} ${latencyMs.toFixed(1)}ms`);
    };
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const matches = routes.filter((r) => r.pattern.test(url.pathname));
    const route = matches.find((r) => r.method === req.method);
    if (!route) {
      finish(matches.length ? { status: 405, body: { error: 'Method not allowed' } } : { status: 404, body: { error: 'Not found' } });
      return;
    }
    if (route.admin && !authorized(req.headers.authorization, tokenBytes)) {
      finish({ status: 401, body: { error: 'Authentication required' } });
      return;
    }
    readBody(req)
      .then((body) => finish(route.handler({ params: route.pattern.exec(url.pathname)?.slice(1) ?? [], query: url.searchParams, body })))
      .catch((error: unknown) => {
        if (error instanceof HttpError) {
          finish({ status: error.status, body: { error: error.message } });
          return;
        }
        logs.error(`${req.method} ${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}`);
        finish({ status: 500, body: { error: 'Internal server error' } });
      });
  };
}

function ok(body: Record<string, unknown>): Reply {
  return { status: 200, body: { success: true, ...body } };
}

function authorized(header: string | undefined, token: Buffer): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1] as string);
  return given.length === token.length && timingSafeEqual(given, token);
}

function health(db: Database, version: string): Reply {
  const timestamp = new Date().toISOString();
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
    const missing = EXPECTED_TABLES.filter((t) => !tables.includes(t));
    const count = (db.prepare('SELECT COUNT(*) AS n FROM activities').get() as { n: number }).n;
    const healthy = missing.length === 0;
    return {
      status: healthy ? 200 : 503,
      body: {
        status: healthy ? 'healthy' : 'unhealthy',
        service: 'trimp-sandbox',
        version,
        timestamp,
        database_connection_status: 'connected',
        activity_count_check: count,
        tables,
        ...(missing.length ? { missing_tables: missing } : {}),
      },
    };
  } catch (error) {
    return {
      status: 503,
      body: {
        status: 'unhealthy',
        service: 'trimp-sandbox',
        version,
        timestamp,
        database_connection_status: `error: ${error instanceof Error ? error.message : String(error)}`,
      },
    };
  }
}

interface CalculateBody {
  user_id?: unknown;
  duration_minutes?: unknown;
  avg_hr?: unknown;
  hr_stream?: unknown;
  resting_hr?: unknown;
  max_hr?: unknown;
  gender?: unknown;
}

/** What a user's request computes: the method the flag picks for the user's type, as the app picks it. */
function calculate(
  raw: unknown,
  user: (id: unknown) => { id: number; user_type: UserType; resting_hr: number; max_hr: number; gender: string },
  flags: () => Record<string, Partial<Record<UserType, boolean>>>,
  logs: AppLogs,
): Reply {
  const body = (raw ?? {}) as CalculateBody;
  const row = user(body.user_id);
  const profile = {
    durationMin: Number(body.duration_minutes),
    restingHr: body.resting_hr === undefined ? row.resting_hr : Number(body.resting_hr),
    maxHr: body.max_hr === undefined ? row.max_hr : Number(body.max_hr),
    sex: (body.gender ?? row.gender) as Sex,
  };
  const enhanced = flags().enhanced_trimp_calculation?.[row.user_type] ?? false;
  const hasStream = Array.isArray(body.hr_stream) && body.hr_stream.length > 0;
  try {
    let method: 'average' | 'stream' = 'average';
    let trimp: number;
    if (enhanced && hasStream) {
      const outcome = banisterStream({ ...profile, hr: body.hr_stream as unknown[] });
      method = outcome.kind === 'average-fallback' ? 'average' : 'stream';
      trimp = outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp;
    } else {
      trimp = banisterAverage({ ...profile, avgHr: Number(body.avg_hr) });
    }
    const rounded = roundTrimp(trimp);
    logs.calculation(`user_id=${row.id} user_type=${row.user_type} method=${method} trimp=${rounded}`);
    return { status: 200, body: { success: true, trimp: rounded, method }, calculation: { method, failed: false } };
  } catch (error) {
    if (error instanceof TrimpInputError) {
      logs.error(`TRIMP calculation rejected for user_id=${row.id}: ${error.message}`);
      return {
        status: 400,
        body: { error: error.message },
        calculation: { method: enhanced && hasStream ? 'stream' : 'average', failed: true },
      };
    }
    throw error;
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1_000_000) reject(new HttpError(413, 'body too large'));
      else chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'body is not valid JSON'));
      }
    });
  });
}

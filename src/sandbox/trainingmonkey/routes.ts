import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { banisterAverage, roundTrimp, type Sex } from '../../trimp/banister.js';
import { banisterStream } from '../../trimp/stream.js';
import { activeFaults, type FaultState } from '../faults.js';
import type { Release } from '../release.js';
import type { SandboxStore } from '../store.js';
import { httpDate, jsonify, pythonRepr, verifyPassword } from './flask.js';

/**
 * The public app's HTTP surface as ../shared/PUBLIC-APP.md records it: session login, the admin
 * endpoints in their real shapes (keys sorted, HTTP dates), the placeholder toggle, the
 * read-only trimp-comparison, the endpoints that are gone (404) or broken (500), /health that
 * answers 200 whatever it finds, and a row in api_logs for every request.
 *
 * Simulated users (the traffic) say who they are with `x-sandbox-user: ID`, the sandbox's stand-in
 * for a user's own session; the admin API still wants a real login.
 */
export interface TrainingMonkeyOptions {
  store: SandboxStore;
  release: Release;
  faults: () => FaultState;
  log: (logger: string, level: string, message: string) => void;
}

interface Reply {
  status: number;
  json?: unknown;
  html?: string;
  headers?: Record<string, string>;
  /** The Flask view's name (api_logs.endpoint); the raw path when no route matched. */
  view: string;
  userId?: number | undefined;
}

interface User {
  id: number;
  email: string;
  password_hash: string | null;
  resting_hr: number | null;
  max_hr: number | null;
  gender: string | null;
  is_admin: number | boolean | null;
}

const USER_COLUMNS = 'id, email, password_hash, resting_hr, max_hr, gender, is_admin';
const UNAUTHENTICATED = { data: [], error: 'Authentication required', success: false };
const INTERNAL = { error: 'Internal server error' };

/** The app's flags are code: user 1 is the admin, 2 and 3 beta; the release decides whether the enhanced method exists. */
function flagFor(release: Release, userId: number): boolean {
  return release.enhanced_trimp !== false && userId >= 1 && userId <= 3;
}

export function createTrainingMonkeyApp(options: TrainingMonkeyOptions) {
  const { store, release, log } = options;
  const sessions = new Map<string, number>();

  const userById = async (id: number) => (await store.all<User>(`SELECT ${USER_COLUMNS} FROM user_settings WHERE id = ?`, [id]))[0];

  async function route(req: IncomingMessage, url: URL, body: string): Promise<Reply> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const sessionId = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const sandboxUser = Number(req.headers['x-sandbox-user']);
    const userId =
      (sessionId ? sessions.get(sessionId) : undefined) ?? (Number.isInteger(sandboxUser) && sandboxUser > 0 ? sandboxUser : undefined);

    if (path === '/health' && method === 'GET') return { view: 'health_check', ...(await health()) };
    // Not the app's: the sandbox's own word on which faults it applies (tests wait for it).
    if (path === '/sandbox/faults' && method === 'GET') {
      const faults = options.faults();
      return { view: 'sandbox', status: 200, json: { active_faults: activeFaults(faults), db_generation: faults.db_generation ?? 0 } };
    }
    if (path === '/login' && method === 'GET')
      return { view: 'login', status: 200, html: '<form method="post"><input name="email"><input name="password" type="password"></form>' };
    if (path === '/login' && method === 'POST') return { view: 'login', ...(await login(req, body)) };
    if (path === '/logout' && method === 'GET') {
      if (sessionId) sessions.delete(sessionId);
      return { view: 'logout', status: 302, headers: { location: '/login' } };
    }

    const api = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    if (!api) {
      // The catch-all route is GET-only: a GET gets an empty 404 page, anything else 405.
      return method === 'GET'
        ? { view: path, status: 404, html: '' }
        : { view: path, status: 405, html: '<!doctype html><title>405 Method Not Allowed</title>' };
    }
    if (userId === undefined) return { view: api.view, status: 401, json: UNAUTHENTICATED };
    const user = await userById(userId);
    if (!user) return { view: api.view, status: 401, json: UNAUTHENTICATED };
    if (api.admin && !user.is_admin) return { view: api.view, status: 403, json: { error: 'Admin access required' }, userId };
    try {
      const params = api.pattern.exec(path)?.slice(1) ?? [];
      return { view: api.view, userId, ...(await api.handle({ user, params, body, contentType: req.headers['content-type'] ?? '' })) };
    } catch (error) {
      log('strava_app', 'ERROR', `Error in ${api.view}: ${error instanceof Error ? error.message : String(error)}`);
      return { view: api.view, userId, status: 500, json: INTERNAL };
    }
  }

  async function health(): Promise<Omit<Reply, 'view'>> {
    const stamp = new Date().toLocaleString('en-US', { hour12: true }).replace(',', '');
    const down = {
      activity_count_check: 'error_during_connection',
      connection_pool_status: 'not_initialized',
      current_database_name: 'not_available',
      current_database_user: 'not_available',
      database_connection_status: 'not connected',
      service: 'strava-sync',
      status: 'unhealthy',
      tables_in_schema: [],
      timestamp: stamp,
      total_tables: 0,
      use_postgres: true,
    };
    // A release whose defect is its health: it cannot reach its database (and still answers 200).
    if (release.defect === 'health') return { status: 200, json: down };
    try {
      const [count] = await store.all<{ n: number }>('SELECT COUNT(*) AS n FROM activities');
      const tables = await store.tables();
      return {
        status: 200,
        json: {
          ...down,
          activity_count_check: Number(count?.n ?? 0),
          connection_pool_status: 'active',
          current_database_name: store.engine === 'postgres' ? 'training' : 'training_data',
          current_database_user: 'trimp',
          database_connection_status: 'connected',
          status: 'healthy',
          tables_in_schema: tables,
          total_tables: tables.length,
        },
      };
    } catch {
      return { status: 200, json: down };
    }
  }

  async function login(req: IncomingMessage, body: string): Promise<Omit<Reply, 'view'>> {
    const asJson = (req.headers['content-type'] ?? '').includes('application/json');
    let email = '';
    let password = '';
    if (asJson) {
      try {
        const parsed = JSON.parse(body) as { email?: unknown; password?: unknown };
        email = String(parsed.email ?? '');
        password = String(parsed.password ?? '');
      } catch {
        return { status: 500, json: INTERNAL };
      }
    } else {
      const form = new URLSearchParams(body);
      email = form.get('email') ?? '';
      password = form.get('password') ?? '';
    }
    const [user] = await store.all<User>(`SELECT ${USER_COLUMNS} FROM user_settings WHERE email = ?`, [email]);
    // As the public app does at every login attempt: the user's row, password hash included, at INFO.
    if (user) log('auth', 'INFO', `Found user data: ${pythonRepr({ ...user })}`);
    if (!user?.password_hash || !verifyPassword(user.password_hash, password)) {
      return asJson
        ? { status: 401, json: { error: 'Invalid email or password', success: false } }
        : { status: 200, html: '<p>Invalid email or password</p>' };
    }
    const session = randomBytes(24).toString('base64url');
    sessions.set(session, Number(user.id));
    log('strava_app', 'INFO', `User ${user.id} logged in`);
    const cookie = { 'set-cookie': `session=${session}; HttpOnly; Path=/` };
    return asJson
      ? { status: 200, json: { redirect: '/dashboard', success: true }, headers: cookie, userId: Number(user.id) }
      : { status: 302, headers: { ...cookie, location: '/dashboard' }, userId: Number(user.id) };
  }

  interface Handled {
    user: User;
    params: string[];
    body: string;
    contentType: string;
  }
  const ROUTES: {
    method: string;
    pattern: RegExp;
    view: string;
    admin: boolean;
    handle: (h: Handled) => Promise<Omit<Reply, 'view'>>;
  }[] = [
    {
      method: 'GET',
      pattern: /^\/api\/user$/,
      view: 'get_current_user',
      admin: false,
      handle: async ({ user }) => ({
        status: 200,
        json: {
          email: user.email,
          gender: user.gender,
          id: Number(user.id),
          is_admin: Boolean(user.is_admin),
          max_hr: user.max_hr,
          resting_hr: user.resting_hr,
        },
      }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/feature-flags$/,
      view: 'get_feature_flags',
      admin: true,
      async handle() {
        const states = { admin: flagFor(release, 1), beta: flagFor(release, 2), regular: flagFor(release, 4) };
        for (const [id, type] of [
          [1, 'admin'],
          [2, 'beta'],
          [4, 'regular'],
        ] as const)
          log(
            'utils.feature_flags',
            'INFO',
            states[type]
              ? `🎉 Enhanced TRIMP calculation access granted to user ${id} (beta rollout)`
              : `⏳ Enhanced TRIMP calculation access denied to user ${id} (not in beta rollout)`,
          );
        const entry = (name: string, description: string) => ({
          admin_enabled: states.admin,
          beta_enabled: states.beta,
          description,
          name,
          regular_enabled: states.regular,
          rollout_phase: 'beta',
        });
        return {
          status: 200,
          json: {
            feature_flags: {
              enhanced_trimp_calculation: entry('Enhanced TRIMP Calculation', 'Uses heart rate stream data for improved TRIMP accuracy'),
              settings_page_enabled: {
                ...entry('Settings Page', 'Access to user settings and configuration'),
                admin_enabled: true,
                beta_enabled: true,
                regular_enabled: false,
              },
            },
            success: true,
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/admin\/feature-flags\/([^/]+)\/toggle$/,
      view: 'toggle_feature_flag',
      admin: true,
      // A placeholder: it reports the change that "would be made" and persists nothing.
      async handle({ user, params, body, contentType }) {
        if (!contentType.includes('application/json')) {
          log('strava_app', 'ERROR', 'Error toggling feature flag: 415 Unsupported Media Type: Did not attempt to load JSON data');
          return { status: 500, json: INTERNAL };
        }
        type Toggle = { user_type?: unknown; enabled?: unknown } | null;
        let data: Toggle;
        try {
          data = JSON.parse(body) as Toggle;
        } catch {
          return { status: 500, json: INTERNAL };
        }
        if (!data || typeof data !== 'object' || Object.keys(data).length === 0)
          return { status: 400, json: { error: 'No data provided' } };
        const userType = data.user_type;
        if (userType !== 'admin' && userType !== 'beta' && userType !== 'regular')
          return { status: 400, json: { error: 'Invalid user type. Must be admin, beta, or regular' } };
        const enabled = data.enabled === undefined ? true : data.enabled;
        const shown = enabled === true ? 'True' : enabled === false ? 'False' : String(enabled);
        const name = decodeURIComponent(params[0] ?? '');
        log('strava_app', 'INFO', `Admin ${user.id} toggled ${name} for ${userType} users to ${shown}`);
        return {
          status: 200,
          json: {
            enabled,
            feature_name: name,
            message: `Feature flag ${name} for ${userType} users set to ${shown}`,
            success: true,
            user_type: userType,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/trimp-settings$/,
      view: 'get_trimp_settings',
      admin: true,
      async handle({ user }) {
        const since = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
        const [needing] = await store.all<{ n: number }>(
          "SELECT COUNT(*) AS n FROM activities WHERE date >= ? AND activity_id > 0 AND (trimp IS NULL OR trimp_calculation_method = 'average' OR trimp_processed_at IS NULL)",
          [since],
        );
        return {
          status: 200,
          json: {
            activities_needing_recalculation: Number(needing?.n ?? 0),
            enhanced_trimp_enabled: flagFor(release, Number(user.id)),
            rollout_status: { admin_enabled: flagFor(release, 1), beta_enabled: flagFor(release, 2), general_release: false },
            schema_status: { hr_streams_table_valid: true, missing_components: [], overall_valid: true, trimp_fields_valid: true },
            success: true,
            user_access: {
              admin: flagFor(release, 1),
              beta_users: { user_2: flagFor(release, 2), user_3: flagFor(release, 3) },
              regular_users: false,
            },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/trimp-calculation-stats$/,
      view: 'get_trimp_calculation_stats',
      admin: true,
      async handle() {
        const [total] = await store.all<{ n: number }>('SELECT COUNT(*) AS n FROM activities WHERE trimp IS NOT NULL');
        const methods = await store.all<{ m: string; n: number; avg: number; lo: number; hi: number; samples: number | null }>(
          `SELECT trimp_calculation_method AS m, COUNT(*) AS n, AVG(trimp) AS avg, MIN(trimp) AS lo, MAX(trimp) AS hi,
                  AVG(hr_stream_sample_count) AS samples
           FROM activities WHERE trimp IS NOT NULL GROUP BY trimp_calculation_method ORDER BY n DESC`,
        );
        return {
          status: 200,
          json: {
            statistics: {
              calculation_methods: methods.map((m) => ({
                avg_hr_samples: m.samples === null ? null : Number(m.samples).toFixed(16), // NUMERIC comes out as a string
                avg_trimp: Math.fround(Number(m.avg)), // REAL: float32 artifacts
                count: Number(m.n),
                max_trimp: Number(m.hi),
                min_trimp: Number(m.lo),
                trimp_calculation_method: m.m,
              })),
              daily_trends: [],
              total_activities: Number(total?.n ?? 0),
              user_statistics: [],
            },
            success: true,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/feedback\/summary$/,
      view: 'get_feedback_summary',
      admin: true,
      handle: async () => ({
        status: 200,
        json: {
          success: true,
          summary: {
            accuracy_statistics: {
              accuracy_rate_10_percent: 0,
              accuracy_rate_5_percent: 0,
              average_difference: 0,
              average_percentage_difference: 0,
              within_10_percent: 0,
              within_5_percent: 0,
            },
            average_rating: null,
            feedback_by_status: {},
            feedback_by_type: {},
            summary_period_days: 30,
            total_feedback: 0,
            total_validations: 0,
          },
        },
      }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/admin\/monitoring\/dashboard$/,
      view: 'get_monitoring_dashboard',
      admin: true,
      async handle() {
        log('strava_app', 'ERROR', "Error getting monitoring dashboard: No module named 'trimp_deployment_monitor'");
        return { status: 500, json: INTERNAL };
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/admin\/trimp-comparison$/,
      view: 'trimp_comparison',
      admin: true,
      async handle({ body }) {
        let data: { user_id?: unknown; activity_count?: unknown; days_back?: unknown } | null;
        try {
          data = JSON.parse(body || 'null') as typeof data;
        } catch {
          return { status: 500, json: INTERNAL };
        }
        if (!data) return { status: 400, json: { error: 'No data provided' } };
        if (!data.user_id) return { status: 400, json: { error: 'User ID is required' } };
        const count = Number(data.activity_count ?? 10);
        const daysBack = Number(data.days_back ?? 30);
        const since = new Date(Date.now() - daysBack * 86_400_000).toISOString().slice(0, 10);
        const rows = await comparison(Number(data.user_id), since, count);
        if (rows.length === 0) return { status: 404, json: { error: 'No activities found for comparison' } };
        log('strava_app', 'INFO', `TRIMP_COMPARISON: user ${data.user_id}, ${rows.length} activities`);
        const mean = (pick: (r: (typeof rows)[number]) => number) => roundTrimp(rows.reduce((s, r) => s + pick(r), 0) / rows.length);
        return {
          status: 200,
          json: {
            comparison_results: rows,
            success: true,
            summary: {
              activities_with_hr_stream: rows.filter((r) => r.has_hr_stream).length,
              avg_average_trimp: mean((r) => r.average_trimp),
              avg_difference: mean((r) => r.difference),
              avg_enhanced_trimp: mean((r) => r.enhanced_trimp),
              avg_percentage_difference: mean((r) => r.percentage_difference),
              days_back: daysBack,
              total_activities: rows.length,
              user_id: data.user_id,
            },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/training-data$/,
      view: 'get_training_data',
      admin: false,
      async handle({ user }) {
        await userFault(user);
        const rows = await store.all<Record<string, unknown>>(
          'SELECT activity_id, date, duration_minutes, avg_heart_rate, trimp, trimp_calculation_method FROM activities WHERE user_id = ? ORDER BY date DESC LIMIT 5',
          [user.id],
        );
        return { status: 200, json: { data: rows.map((r) => ({ ...r, date: httpDate(String(r.date)) })), success: true } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/sync$/,
      view: 'sync',
      admin: false,
      async handle({ user, body }) {
        await userFault(user);
        const data = JSON.parse(body || '{}') as { duration_minutes?: number; avg_hr?: number; hr_stream?: number[] };
        const profile = sanitizedProfile(user, Number(data.duration_minutes ?? 30));
        const stream = flagFor(release, Number(user.id)) && Array.isArray(data.hr_stream) ? data.hr_stream : undefined;
        const trimp = stream ? streamTrimp(profile, stream) : averageTrimp(profile, Number(data.avg_hr ?? 140));
        log('strava_training_load', 'INFO', `TRIMP_CALC: user ${user.id} ${stream ? 'stream' : 'average'} ${trimp}`);
        const id = await store.insertActivity({
          userId: Number(user.id),
          date: new Date().toISOString().slice(0, 19).replace('T', ' '),
          durationMin: profile.durationMin,
          avgHr: Number(data.avg_hr ?? 140),
          trimp,
          method: stream ? 'stream' : 'average',
          stream,
        });
        return { status: 200, json: { activity_id: id, success: true } };
      },
    },
  ];

  /** The runtime faults, as users meet them: slow answers, and failed enhanced calculations. */
  async function userFault(user: User): Promise<void> {
    const faults = options.faults();
    if (faults.slow) await sleep(faults.slow.ms);
    const errors = faults['trimp-errors'];
    if (errors && flagFor(release, Number(user.id)) && Math.random() < errors.share)
      throw new Error('TRIMP_CALC: stream calculation failed: hr_data could not be processed');
  }

  async function comparison(userId: number, since: string, count: number) {
    const user = await userById(userId);
    const activities = await store.all<{
      activity_id: number;
      date: string;
      duration_minutes: number;
      avg_heart_rate: number;
      hr_stream_sample_count: number | null;
    }>(
      `SELECT activity_id, date, duration_minutes, avg_heart_rate, hr_stream_sample_count FROM activities
       WHERE user_id = ? AND avg_heart_rate IS NOT NULL AND duration_minutes > 0 AND date >= ? ORDER BY date DESC LIMIT ?`,
      [userId, since, count],
    );
    const out = [];
    for (const a of activities) {
      const [stream] = await store.all<{ hr_data: string | unknown[] }>(
        'SELECT hr_data FROM hr_streams WHERE activity_id = ? ORDER BY id DESC LIMIT 1',
        [a.activity_id],
      );
      const resting = user ? user.resting_hr : 50;
      const max = user ? user.max_hr : 180;
      let average = 0;
      let enhanced = 0;
      if (resting !== null && max !== null) {
        const profile = {
          durationMin: Number(a.duration_minutes),
          restingHr: Number(resting),
          maxHr: Number(max),
          sex: sexOf(user?.gender ?? null),
        };
        average = averageTrimp(profile, Number(a.avg_heart_rate));
        const hr = stream ? (typeof stream.hr_data === 'string' ? (JSON.parse(stream.hr_data) as unknown[]) : stream.hr_data) : undefined;
        enhanced = hr ? streamTrimp(profile, hr) : average;
        // A release whose defect is its TRIMP: the enhanced answer is 10 % off.
        if (release.defect === 'trimp') enhanced = roundTrimp(enhanced * 1.1);
      }
      const difference = roundTrimp(enhanced - average);
      out.push({
        activity_id: Number(a.activity_id),
        average_trimp: average,
        avg_hr: Number(a.avg_heart_rate),
        date: httpDate(String(a.date)),
        difference,
        duration: Number(a.duration_minutes),
        enhanced_trimp: enhanced,
        has_hr_stream: stream !== undefined,
        hr_stream_samples: Number(a.hr_stream_sample_count ?? 0),
        percentage_difference: average ? roundTrimp((difference / average) * 100) : 0,
      });
    }
    return out;
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let reply: Reply;
    try {
      reply = await route(req, url, body);
    } catch (error) {
      log('strava_app', 'ERROR', `Unhandled error: ${error instanceof Error ? error.message : String(error)}`);
      reply = { view: url.pathname, status: 500, json: INTERNAL };
    }
    const text = reply.json !== undefined ? jsonify(reply.json) : (reply.html ?? '');
    res.writeHead(reply.status, {
      'content-type': reply.json !== undefined ? 'application/json' : 'text/html; charset=utf-8',
      ...(reply.headers ?? {}),
    });
    res.end(text);
    // after_request: every request, /health and failures included (the sandbox's own control path is not the app's).
    const ms = Math.round(performance.now() - started);
    if (reply.view === 'sandbox') return;
    store
      .execute(
        `INSERT INTO api_logs ("timestamp", endpoint, method, response_time_ms, status_code, user_id, request_size_bytes, response_size_bytes,
           user_agent, ip_address, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          new Date().toISOString(),
          reply.view,
          req.method ?? 'GET',
          ms,
          reply.status,
          reply.userId ?? null,
          Buffer.byteLength(body),
          Buffer.byteLength(text),
          req.headers['user-agent'] ?? null,
          req.socket.remoteAddress ?? null,
          reply.status >= 400 ? `HTTP ${reply.status}` : null,
        ],
      )
      .catch(() => undefined);
  };
}

function sexOf(gender: string | null): Sex {
  return gender === 'female' ? 'female' : 'male';
}

function sanitizedProfile(user: User, durationMin: number) {
  return { durationMin, restingHr: Number(user.resting_hr ?? 50), maxHr: Number(user.max_hr ?? 180), sex: sexOf(user.gender) };
}

function averageTrimp(profile: { durationMin: number; restingHr: number; maxHr: number; sex: Sex }, avgHr: number): number {
  try {
    return roundTrimp(banisterAverage({ ...profile, avgHr }));
  } catch {
    return 0;
  }
}

function streamTrimp(profile: { durationMin: number; restingHr: number; maxHr: number; sex: Sex }, hr: unknown[]): number {
  const outcome = banisterStream({ ...profile, hr });
  return roundTrimp(outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp);
}

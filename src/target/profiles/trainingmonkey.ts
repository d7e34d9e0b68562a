import { TrimpError } from '../../errors.js';
import { banisterAverage, roundTrimp, type Sex } from '../../trimp/banister.js';
import { banisterStream } from '../../trimp/stream.js';
import type { AdminApi } from '../admin-api.js';
import { apiLogsMetrics } from '../api-logs-metrics.js';
import { PYTHON_LOG_FORMAT } from '../app-log-reader.js';
import type { SqlDatabase } from '../database.js';
import type { FlagStore, WriteGate } from '../flag-store.js';
import type { FlagStates, UserType } from '../user-types.js';
import type { AppProfile, StoredActivity, TrimpAnswer } from './profile.js';

/**
 * The public app as deployed (TrainingMonkey, ../shared/PUBLIC-APP.md): session login, flags
 * set in code (the toggle answers 200 and persists nothing), no metrics endpoint (users' requests
 * are in the api_logs table), no TRIMP-calculate endpoint (trimp-comparison computes both methods,
 * read-only), logs on stderr in Python's format, PostgreSQL.
 */

/** The app's own rule (utils/feature_flags.py): user 1 is the admin, users 2 and 3 the beta testers. */
export function trainingMonkeyUserType(userId: number): UserType {
  if (userId === 1) return 'admin';
  return userId === 2 || userId === 3 ? 'beta' : 'regular';
}

const FLAGS_IN_CODE =
  'on this app flags are set in code (utils/feature_flags.py): its toggle endpoint answers 200 and persists nothing, and there is no feature_flags table';
const RELEASE_INSTEAD =
  'deploy a release without the enhanced calculation: trimp-rollback application (the previous release; --to COMMIT for an older one)';

interface FeatureFlagsBody {
  feature_flags?: Record<string, { admin_enabled?: unknown; beta_enabled?: unknown; regular_enabled?: unknown }>;
}

/** GET /api/admin/feature-flags in its real shape; the toggle is tried only when target.flag_toggle says it persists. */
function flagsFromApi(api: AdminApi, gate: WriteGate): FlagStore {
  const read = async (flag: string): Promise<FlagStates> => {
    const body = (await api.getOk<FeatureFlagsBody | null>('api/admin/feature-flags')) ?? {};
    const entry = body.feature_flags?.[flag];
    if (!entry)
      throw new TrimpError('unknown-flag', `the app at ${api.baseUrl} has no flag named ${flag}`, {
        remedy: `known flags: ${Object.keys(body.feature_flags ?? {}).join(', ') || 'none (no feature_flags key in the answer)'}`,
      });
    const states: FlagStates = {};
    for (const type of ['admin', 'beta', 'regular'] as const) {
      const value = entry[`${type}_enabled`];
      if (typeof value !== 'boolean')
        throw new TrimpError('bad-answer', `feature_flags.${flag}.${type}_enabled is ${JSON.stringify(value)}, not true or false`);
      states[type] = value;
    }
    return states;
  };
  return {
    via: 'api',
    location: api.baseUrl,
    read,
    async set(flag, userType, enabled) {
      gate.verifyWritable(`POST api/admin/feature-flags/${flag}/toggle`);
      // Success here only means the app answered: the step reads the flag back.
      await api.postOk<unknown>(`api/admin/feature-flags/${encodeURIComponent(flag)}/toggle`, { user_type: userType, enabled });
    },
    async evaluate(flag, userId) {
      const userType = trainingMonkeyUserType(userId);
      return { userType, enabled: (await read(flag))[userType] ?? false };
    },
    async close() {},
  };
}

interface ComparisonRow {
  activity_id?: unknown;
  enhanced_trimp?: unknown;
  average_trimp?: unknown;
}

interface ActivityInputs {
  activity_id: number;
  duration_minutes: number;
  avg_heart_rate: number;
  resting_hr: number | null;
  max_hr: number | null;
  gender: string | null;
  has_user: number;
  hr_data: string | unknown[] | null;
}

/** The comparison's window: the app counts back from today; a sandbox's or a quiet app's history may be older. */
const COMPARISON_DAYS = 3650;

/**
 * Asks trimp-comparison for a user's newest activities, and computes both methods itself from the
 * same inputs read from the database (the app ignores the flag here: the stream is used whenever
 * one exists). 2 decimals; a mismatch names the activity.
 */
async function comparisonAnswers(api: AdminApi, open: () => Promise<SqlDatabase>, userId: number, count: number): Promise<TrimpAnswer[]> {
  const response = await api.post('api/admin/trimp-comparison', { user_id: userId, activity_count: count, days_back: COMPARISON_DAYS });
  const body = (response.body ?? {}) as { comparison_results?: ComparisonRow[]; error?: unknown };
  if (response.status === 404)
    return [{ userId, ok: true, answer: `no activities with heart rate for user ${userId}`, problem: 'none to compare' }];
  if (response.status !== 200 || !Array.isArray(body.comparison_results))
    return [
      {
        userId,
        ok: false,
        answer: `HTTP ${response.status}`,
        problem: `user ${userId}: trimp-comparison answered HTTP ${response.status}${body.error ? ` (${String(body.error).slice(0, 200)})` : ''}`,
      },
    ];
  const rows = body.comparison_results;
  const ids = rows.map((row) => Number(row.activity_id)).filter(Number.isFinite);
  if (ids.length === 0) return [];
  const db = await open();
  let inputs: ActivityInputs[];
  try {
    inputs = await db.all<ActivityInputs>(
      `SELECT a.activity_id, a.duration_minutes, a.avg_heart_rate, u.resting_hr, u.max_hr, u.gender,
              CASE WHEN u.id IS NULL THEN 0 ELSE 1 END AS has_user,
              (SELECT s.hr_data FROM hr_streams s WHERE s.activity_id = a.activity_id ORDER BY s.id DESC LIMIT 1) AS hr_data
       FROM activities a LEFT JOIN user_settings u ON u.id = a.user_id
       WHERE a.activity_id IN (${ids.map(() => '?').join(', ')})`,
      ids,
    );
  } finally {
    await db.close();
  }
  const byId = new Map(inputs.map((row) => [Number(row.activity_id), row]));
  return rows.map((row) => {
    const id = Number(row.activity_id);
    const own = byId.get(id);
    const app = `activity ${id}: enhanced ${String(row.enhanced_trimp)}, average ${String(row.average_trimp)}`;
    if (!own) return { userId, ok: false, answer: app, problem: `activity ${id}: the app compared it, the database has no such activity` };
    const expected = ownTrimp(own);
    const wrong = [
      ['enhanced', row.enhanced_trimp, expected.enhanced],
      ['average', row.average_trimp, expected.average],
    ].filter(([, got, want]) => typeof got !== 'number' || Math.abs((got as number) - (want as number)) > 0.005);
    if (wrong.length === 0) return { userId, ok: true, answer: app };
    return {
      userId,
      ok: false,
      answer: app,
      problem: `activity ${id}: ${wrong.map(([name, got, want]) => `${name} ${String(got)}, computed ${String(want)}`).join('; ')}`,
    };
  });
}

/** As the app computes them: defaults 50/180/male only without a user row; a row with no HR settings gives 0.0. */
function ownTrimp(row: ActivityInputs): { enhanced: number; average: number } {
  const resting = row.has_user ? row.resting_hr : 50;
  const max = row.has_user ? row.max_hr : 180;
  if (resting === null || max === null) return { enhanced: 0, average: 0 };
  const profile = { durationMin: Number(row.duration_minutes), restingHr: Number(resting), maxHr: Number(max), sex: sexOf(row.gender) };
  const average = roundTrimp(safe(() => banisterAverage({ ...profile, avgHr: Number(row.avg_heart_rate) })));
  const stream = streamOf(row.hr_data);
  if (!stream) return { enhanced: average, average };
  const outcome = banisterStream({ ...profile, hr: stream });
  return { enhanced: roundTrimp(outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp), average };
}

function safe(work: () => number): number {
  try {
    return work();
  } catch {
    return 0; // the app answers 0.0 for inputs it cannot compute
  }
}

function sexOf(gender: string | null): Sex {
  return gender === 'female' ? 'female' : 'male'; // an unknown gender counts as male, as in the app
}

function streamOf(data: string | unknown[] | null): unknown[] | undefined {
  if (data === null) return undefined;
  if (Array.isArray(data)) return data;
  try {
    const parsed: unknown = JSON.parse(data);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export const trainingMonkeyProfile: AppProfile = {
  name: 'trainingmonkey',
  capabilities: (config, via) => [
    {
      what: 'flags',
      how:
        config.flagToggle === 'persists'
          ? 'read through the admin API; set through its toggle because target.flag_toggle says it persists (read back, so a placeholder fails the step)'
          : `read-only${via === 'db' ? ' (and not in the database)' : ' through the admin API'}: ${FLAGS_IN_CODE}`,
    },
    { what: 'login', how: `session login as ${config.login?.email ?? '(no target.login.email)'}, one new login on 401` },
    { what: 'health', how: 'GET /health answers 200 even when unhealthy: judged by status and database_connection_status' },
    { what: 'metrics', how: "users' requests from the api_logs table (the metrics endpoint is gone: 404)" },
    { what: 'TRIMP answers', how: "POST /api/admin/trimp-comparison, against the tool's own computation from the database" },
    {
      what: 'logs',
      how: config.logs ? ('file' in config.logs ? config.logs.file : config.logs.command.join(' ')) : 'none: set target.logs',
    },
  ],
  flagChangeRefusal: (config, via) =>
    via === 'db'
      ? { reason: FLAGS_IN_CODE, instead: RELEASE_INSTEAD }
      : config.flagToggle === 'persists'
        ? undefined
        : { reason: FLAGS_IN_CODE, instead: RELEASE_INSTEAD },
  apiFlagStore: flagsFromApi,
  dbFlagStore: () => undefined,
  logFormat: PYTHON_LOG_FORMAT,
  expectedTables: ['activities', 'user_settings', 'hr_streams', 'api_logs'],
  endpoints: [
    { path: 'health', expect: 200 },
    { path: 'api/admin/feature-flags', expect: 200 },
    { path: 'api/admin/trimp-settings', expect: 200 },
    { path: 'api/admin/trimp-calculation-stats', expect: 200 },
    { path: 'api/admin/feedback/summary', expect: 200 },
    { path: 'api/user', expect: 200 },
    {
      path: 'api/admin/monitoring/dashboard',
      expect: 500,
      knownBroken: 'always 500 in the released app: it imports trimp_deployment_monitor, which moved to scripts/',
    },
    {
      path: 'api/admin/trimp-performance-metrics',
      expect: 404,
      knownBroken: 'removed from the app (404): its figures come from api_logs',
    },
  ],
  async userReach(view, signal) {
    // The page every user starts at, and the logged-in user's own record.
    const [page, me] = await Promise.all([view.api.get('login', { signal }), view.api.get('api/user', { signal })]);
    const user = (me.body ?? {}) as { id?: unknown; is_admin?: unknown };
    const ok = page.status === 200 && me.status === 200 && typeof user.id === 'number';
    return {
      ok,
      text: `GET /login answered HTTP ${page.status}, GET /api/user HTTP ${me.status}${typeof user.id === 'number' ? ` (user ${user.id})` : ''}`,
      evidence: { login_page: page.status, api_user: me.status },
    };
  },
  appTrimp: (view, userId, _enhanced, samples) => comparisonAnswers(view.api, () => view.openDatabase({ readonly: true }), userId, samples),
  appTrimpSource: 'POST /api/admin/trimp-comparison, against the same activities computed from the database',
  async storedActivities(db: SqlDatabase, limit: number) {
    const rows = await db.all<Omit<StoredActivity, 'user_type'> & { user_id: number }>(
      `SELECT a.activity_id, a.user_id, a.duration_minutes, a.avg_heart_rate, a.trimp, a.trimp_calculation_method, a.trimp_processed_at,
              u.resting_hr, u.max_hr, u.gender,
              (SELECT s.hr_data FROM hr_streams s WHERE s.activity_id = a.activity_id ORDER BY s.id DESC LIMIT 1) AS hr_data
       FROM activities a JOIN user_settings u ON u.id = a.user_id
       WHERE a.trimp_calculation_method IN ('average', 'stream') AND a.activity_id > 0 AND a.trimp IS NOT NULL
       ORDER BY a.activity_id DESC LIMIT ?`,
      [limit],
    );
    return rows.map((row) => ({ ...row, user_type: trainingMonkeyUserType(Number(row.user_id)) }));
  },
  flagChanges: async () => undefined,
  async metrics(target, windowS) {
    const db = await target.openDatabase({ readonly: true });
    try {
      return await apiLogsMetrics(db, windowS, trainingMonkeyUserType);
    } finally {
      await db.close();
    }
  },
  instanceMetrics: (view, windowS, signal) => trainingMonkeyProfile.metrics(view, windowS, signal),
  metricsSource: 'the api_logs table (every instance writes it)',
};

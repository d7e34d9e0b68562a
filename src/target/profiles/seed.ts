import { checkAppTrimp } from '../../checks/app-trimp.js';
import { SEED_LOG_FORMAT } from '../app-log-reader.js';
import { apiFlagStore } from '../flag-store-api.js';
import { dbFlagStore } from '../flag-store-db.js';
import { readSystemMetrics, readSystemMetricsOf } from '../metrics.js';
import type { AppProfile, StoredActivity } from './profile.js';

/**
 * The seed's contract, as PRODUCT.md states it and the sandbox serves it: a bearer token, a flag
 * the API sets and the database stores, a TRIMP-calculate endpoint, a metrics endpoint, log files.
 */
export const seedProfile: AppProfile = {
  name: 'seed',
  capabilities: (config, via) => [
    { what: 'flags', how: via === 'db' ? 'read and set in the feature_flags table' : 'read and set through the admin API' },
    { what: 'login', how: config.auth === 'none' ? 'none (target.auth: none)' : 'a bearer token' },
    { what: 'metrics', how: 'GET /api/admin/trimp-performance-metrics of every instance' },
    { what: 'TRIMP answers', how: 'POST /api/trimp/calculate with a reference workout, against the formula' },
  ],
  flagChangeRefusal: () => undefined,
  apiFlagStore,
  dbFlagStore,
  logFormat: SEED_LOG_FORMAT,
  expectedTables: ['activities', 'user_settings', 'feature_flags', 'hr_streams'],
  endpoints: [
    'health',
    'api/admin/feature-flags',
    'api/admin/trimp-performance-metrics',
    'api/admin/trimp-calculation-stats',
    'api/admin/trimp-settings',
    'api/admin/feedback/summary',
    'api/admin/monitoring/dashboard',
  ].map((path) => ({ path, expect: 200 })),
  async userReach(view, signal) {
    const userId = view.config.sampleUsers.regular;
    const response = await view.api.post('api/trimp/calculate', { user_id: userId, duration_minutes: 30, avg_hr: 140 }, { signal });
    return {
      ok: response.status === 200,
      text: `POST /api/trimp/calculate for user ${userId} answered HTTP ${response.status}`,
      evidence: { http_status: response.status },
    };
  },
  async appTrimp(view, userId, enhanced, samples) {
    const answers = await Promise.all(Array.from({ length: samples }, () => checkAppTrimp(view.api, userId, enhanced)));
    return answers.map((a) => ({
      userId,
      ok: a.ok,
      answer: `${String(a.method)} ${String(a.trimp)}`,
      ...(a.problem ? { problem: a.problem } : {}),
      details: { method: a.method, trimp: a.trimp, expectedMethod: a.expectedMethod, expectedTrimp: a.expectedTrimp },
    }));
  },
  appTrimpSource: 'POST /api/trimp/calculate with a reference workout',
  storedActivities: (db, limit) =>
    db.all<StoredActivity>(
      `SELECT a.activity_id, u.user_type, a.duration_minutes, a.avg_heart_rate, a.trimp, a.trimp_calculation_method, a.trimp_processed_at,
              u.resting_hr, u.max_hr, u.gender, s.hr_data
       FROM activities a JOIN user_settings u ON u.id = a.user_id LEFT JOIN hr_streams s ON s.activity_id = a.activity_id
       WHERE a.trimp_calculation_method IN ('average', 'stream') ORDER BY a.activity_id DESC LIMIT ?`,
      [limit],
    ),
  async flagChanges(db) {
    const rows = await db.all<{ user_type: string; enabled: number; updated_at: string }>(
      'SELECT user_type, enabled, updated_at FROM feature_flags WHERE name = ?',
      ['enhanced_trimp_calculation'],
    );
    return rows.map((row) => ({ ...row, enabled: Number(row.enabled) !== 0 }));
  },
  metrics: (target, windowS, signal) =>
    readSystemMetricsOf(
      target.instances.map((instance) => target.onInstance(instance).api),
      windowS,
      signal,
    ),
  instanceMetrics: (view, windowS, signal) => readSystemMetrics(view.api, windowS, signal),
  metricsSource: 'GET /api/admin/trimp-performance-metrics',
};

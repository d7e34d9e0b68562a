import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { tailSince } from '../target/app-logs.js';
import { withApp, withDatabase } from './app-access.js';
import { type CheckDefinition, fail, pass, skip, warn } from './check.js';

/** The seed's list of endpoints (its curl lines), all of which must answer. */
export const SEED_ENDPOINTS = [
  'health',
  'api/admin/feature-flags',
  'api/admin/trimp-performance-metrics',
  'api/admin/trimp-calculation-stats',
  'api/admin/trimp-settings',
  'api/admin/feedback/summary',
  'api/admin/monitoring/dashboard',
];

export const EXPECTED_TABLES = ['activities', 'user_settings', 'feature_flags', 'hr_streams'];

export const appResponsive: CheckDefinition = {
  name: 'app-responsive',
  perInstance: true,
  group: 'system-health',
  title: 'Application is running and responsive',
  run: (ctx) =>
    withApp(ctx, async () => {
      const started = performance.now();
      const response = await ctx.target.api.get('health', { signal: ctx.signal });
      const ms = Math.round(performance.now() - started);
      const body = (response.body ?? {}) as { status?: string; version?: string };
      const evidence = { http_status: response.status, status: body.status, version: body.version, latency_ms: ms };
      if (response.status !== 200 || body.status !== 'healthy') {
        return fail(
          `/health answered HTTP ${response.status}, status ${String(body.status)}`,
          `look at ${join(ctx.target.config.logsDir, 'error.log')}; if a new release broke it, deploy the previous one (the seed's application rollback)`,
          evidence,
        );
      }
      if (ms > ctx.thresholds.latencyP99Ms) return warn(`healthy but slow: ${ms} ms`, 'check host load and the database', evidence);
      return pass(`healthy in ${ms} ms (version ${body.version ?? 'unknown'})`, evidence);
    }),
};

export const apiEndpoints: CheckDefinition = {
  name: 'api-endpoints',
  perInstance: true,
  group: 'system-health',
  title: 'All API endpoints are accessible',
  run: (ctx) =>
    withApp(ctx, async () => {
      const answers = await Promise.all(
        SEED_ENDPOINTS.map(async (path) => [path, (await ctx.target.api.get(path, { signal: ctx.signal })).status] as const),
      );
      const broken = answers.filter(([, status]) => status !== 200);
      const evidence = Object.fromEntries(answers);
      if (broken.length > 0) {
        const unauthorized = broken.some(([, status]) => status === 401 || status === 403);
        return fail(
          `${broken.length} of ${answers.length} endpoints failed: ${broken.map(([p, s]) => `/${p} ${s}`).join(', ')}`,
          unauthorized ? 'check the admin token (TRIMP_ADMIN_TOKEN or target.token_file)' : 'see the application and error logs',
          evidence,
        );
      }
      return pass(`all ${answers.length} endpoints answer 200`, evidence);
    }),
};

export const databaseAccessible: CheckDefinition = {
  name: 'database',
  group: 'system-health',
  title: 'Database is accessible and consistent',
  run: (ctx) =>
    withDatabase(ctx, async () => {
      const db = await ctx.target.openDatabase({ readonly: true });
      try {
        const tables = await db.tableNames();
        const missing = EXPECTED_TABLES.filter((t) => !tables.includes(t));
        const evidence = { tables };
        if (missing.length > 0)
          return fail(`expected tables missing: ${missing.join(', ')}`, 'restore a verified backup (database rollback)', evidence);
        return pass(`opens; ${tables.length} tables including ${EXPECTED_TABLES.join(', ')}`, evidence);
      } finally {
        await db.close();
      }
    }),
};

/** ERROR/CRITICAL lines in the app's logs since the run began. */
export const logsClean: CheckDefinition = {
  name: 'logs-clean',
  group: 'system-health',
  title: 'No critical errors in logs',
  async run(ctx) {
    const files = ['error.log', 'application.log', 'trimp_calculation.log'].map((name) => join(ctx.target.config.logsDir, name));
    // After a change, the logs must be clean from then on; the errors before it are the incident.
    const since = ctx.changedAt ?? ctx.since ?? new Date(Date.now() - 15 * 60_000);
    // The same line in error.log and application.log counts once.
    const seen = new Set<string>();
    let read = 0;
    for (const file of files) {
      const text = await tailSince(file, since, 4 * 1024 * 1024);
      if (text === undefined) continue;
      read += 1;
      for (const match of text.matchAll(/^(\S+) (?:ERROR|CRITICAL)\b.*$/gm)) {
        if (new Date(match[1] as string) >= since) seen.add(match[0]);
      }
    }
    const found = [...seen];
    if (read === 0) return skip(`no logs under ${ctx.target.config.logsDir}`, 'set target.logs_dir');
    const critical = found.filter((line) => / CRITICAL /.test(line)).length;
    const evidence = { since: since.toISOString(), errors: found.length, critical, last: found.slice(-5) };
    const remedy = `read the lines in the evidence; grep -i error ${join(ctx.target.config.logsDir, '*.log')}`;
    if (critical > 0 || found.length >= ctx.thresholds.logErrorsFail)
      return fail(`${found.length} error lines since ${since.toISOString()} (${critical} critical)`, remedy, evidence);
    if (found.length >= ctx.thresholds.logErrorsWarn)
      return warn(`${found.length} error lines since ${since.toISOString()}`, remedy, evidence);
    return pass(`no error lines since ${since.toISOString()}`, evidence);
  },
};

export const hostResources: CheckDefinition = {
  name: 'host-resources',
  group: 'system-health',
  title: 'System resources are normal',
  async run(ctx) {
    const dir = dirname(ctx.target.config.database);
    const disk = await statfs(dir).catch(() => statfs('.'));
    const diskFree = disk.bavail * disk.bsize;
    const memory = freemem();
    const loadPerCore = (loadavg()[0] ?? 0) / Math.max(1, cpus().length);
    const evidence = { disk_free_bytes: diskFree, memory_free_bytes: memory, load_per_core: Math.round(loadPerCore * 100) / 100 };
    const problems: string[] = [];
    const remedies: string[] = [];
    if (diskFree < ctx.thresholds.diskFreeMinBytes) {
      problems.push(`disk free ${gib(diskFree)} < ${gib(ctx.thresholds.diskFreeMinBytes)}`);
      remedies.push(`free disk space in ${dir}`);
    }
    if (memory < ctx.thresholds.memoryFreeMinBytes) {
      problems.push(`memory free ${gib(memory)} < ${gib(ctx.thresholds.memoryFreeMinBytes)}`);
      remedies.push('find what holds the memory (ps aux --sort=-rss | head)');
    }
    if (loadPerCore > ctx.thresholds.loadPerCoreMax) {
      problems.push(`load ${loadPerCore.toFixed(2)} per core > ${ctx.thresholds.loadPerCoreMax}`);
      remedies.push('find what loads the host (top)');
    }
    if (problems.length > 0) return warn(problems.join('; '), remedies.join('; '), evidence);
    return pass(`disk free ${gib(diskFree)}, memory free ${gib(memory)}, load ${loadPerCore.toFixed(2)} per core`, evidence);
  },
};

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { readHealth } from '../target/health.js';
import { withApp, withDatabase } from './app-access.js';
import { type CheckDefinition, fail, pass, warn } from './check.js';
import { maskLogSecrets } from './log-secrets.js';
import { noLogs } from './no-logs.js';

export const appResponsive: CheckDefinition = {
  name: 'app-responsive',
  perInstance: true,
  group: 'system-health',
  title: 'Application is running and responsive',
  run: (ctx) =>
    withApp(ctx, async () => {
      const started = performance.now();
      const health = await readHealth(ctx.target.api, ctx.signal);
      const ms = Math.round(performance.now() - started);
      const { problem: _, ...said } = health;
      const evidence = { ...said, latency_ms: ms };
      if (!health.healthy) {
        return fail(
          `/health answered ${health.problem}`,
          `look at ${ctx.target.logs.where}; if a new release broke it, deploy the previous one (the seed's application rollback)`,
          evidence,
        );
      }
      if (ms > ctx.thresholds.latencyP99Ms) return warn(`healthy but slow: ${ms} ms`, 'check host load and the database', evidence);
      const database = health.database ? `, database ${health.database}` : '';
      return pass(`healthy in ${ms} ms (version ${health.version ?? 'unknown'}${database})`, evidence);
    }),
};

export const apiEndpoints: CheckDefinition = {
  name: 'api-endpoints',
  perInstance: true,
  group: 'system-health',
  title: 'All API endpoints are accessible',
  run: (ctx) =>
    withApp(ctx, async () => {
      // Endpoints broken in the released app are not asked: each call would only add an error line to its log.
      const endpoints = ctx.target.profile.endpoints.filter((endpoint) => !endpoint.knownBroken);
      const knownBroken = ctx.target.profile.endpoints.filter((endpoint) => endpoint.knownBroken);
      const answers = await Promise.all(
        endpoints.map(async (endpoint) => ({
          ...endpoint,
          status: (await ctx.target.api.get(endpoint.path, { signal: ctx.signal })).status,
        })),
      );
      const broken = answers.filter((a) => a.status !== a.expect);
      const evidence = {
        ...Object.fromEntries(answers.map((a) => [a.path, a.status])),
        ...(knownBroken.length ? { not_asked: Object.fromEntries(knownBroken.map((a) => [a.path, a.knownBroken])) } : {}),
      };
      if (broken.length > 0) {
        const unauthorized = broken.some((a) => a.status === 401 || a.status === 403);
        return fail(
          `${broken.length} of ${answers.length} endpoints failed: ${broken.map((a) => `/${a.path} ${a.status}`).join(', ')}`,
          unauthorized
            ? ctx.target.config.login
              ? `check the admin login (${ctx.target.config.login.email}): is the user an admin?`
              : 'check the admin token (TRIMP_ADMIN_TOKEN or target.token_file)'
            : 'see the application and error logs',
          evidence,
        );
      }
      const known = knownBroken.length
        ? `; not asked, broken in the released app: ${knownBroken.map((a) => `/${a.path} (${a.expect})`).join(', ')}`
        : '';
      return pass(`all ${answers.length} endpoints answer 200${known}`, evidence);
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
        const expected = ctx.target.profile.expectedTables;
        const missing = expected.filter((t) => !tables.includes(t));
        const evidence = { tables };
        if (missing.length > 0)
          return fail(`expected tables missing: ${missing.join(', ')}`, 'restore a verified backup (database rollback)', evidence);
        return pass(`opens; ${tables.length} tables including ${expected.join(', ')}`, evidence);
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
    // After a change, the logs must be clean from then on; the errors before it are the incident.
    const since = ctx.changedAt ?? ctx.since ?? new Date(Date.now() - 15 * 60_000);
    const lines = await ctx.target.logs.linesSince(since);
    if (lines === undefined) return noLogs(ctx);
    const errors = lines.filter((line) => line.level === 'ERROR' || line.level === 'CRITICAL');
    // The lines are evidence (journal, report, JUnit): secrets the app wrote into them are masked.
    const found = errors.map((line) => maskLogSecrets(line.text));
    const critical = errors.filter((line) => line.level === 'CRITICAL').length;
    const evidence = { source: ctx.target.logs.where, since: since.toISOString(), errors: found.length, critical, last: found.slice(-5) };
    const remedy = `read the lines in the evidence, and the rest in ${ctx.target.logs.where}`;
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

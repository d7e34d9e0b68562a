import { existsSync } from 'node:fs';
import { checkIntegrity, describeCheck, isOk, withSqliteFile } from '../backup/sqlite-file.js';
import { maskLogSecrets } from '../checks/log-secrets.js';
import type { Config } from '../config/config.js';
import { attempt, messageOf } from '../errors.js';
import { readHealth } from '../target/health.js';
import { errorPatterns } from '../target/log-patterns.js';
import { isPostgresUrl, openPostgres } from '../target/postgres.js';
import type { Target } from '../target/target.js';

/** What the system shows now, and the matrix row it points to (none when nothing is wrong). */
export interface Proposal {
  issue: string | undefined;
  why: string;
  evidence: string[];
}

const WINDOW_S = 60;
const RECENT_S = 10;

/**
 * Reads live health, the last minute and the last 10 s of metrics, the last 15 minutes of error.log and a
 * quick_check of the database, and proposes the row that fits, most serious first: damaged data,
 * then an app that is down or unhealthy, then TRIMP errors, then slowness. A security breach is
 * never read off metrics: a person says so (--issue security-breach).
 */
export async function proposeFromSystem(config: Config, target: Target): Promise<Proposal> {
  const apis = target.instances.map((instance) => target.onInstance(instance).api);
  const evidence: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

  let quick: string[] | undefined;
  if (isPostgresUrl(config.target.database)) {
    // PostgreSQL's own check (amcheck); without it the data is said unchecked, never intact.
    try {
      const db = await openPostgres(config.target.database, { readonly: true, password: config.target.databasePassword });
      try {
        const result = await db.integrity('quick');
        if (result.checked) {
          quick = result.problems.length ? result.problems : ['ok'];
          evidence.push(`database (PostgreSQL) ${result.why}: ${describeCheck(quick)}`);
        } else evidence.push(`database (PostgreSQL) not checked for corruption: ${result.why}`);
      } finally {
        await db.close();
      }
    } catch (error) {
      quick = [messageOf(error)];
      evidence.push(`database check could not run: ${messageOf(error)}`);
    }
  } else if (existsSync(config.target.database)) {
    try {
      quick = await withSqliteFile(config.target.database, (db) => checkIntegrity(db, 'quick'), { live: true });
      evidence.push(`database quick_check: ${describeCheck(quick)}`);
    } catch (error) {
      quick = [messageOf(error)];
      evidence.push(`database quick_check could not run: ${messageOf(error)}`);
    }
  } else evidence.push(`database: no file at ${config.target.database}`);

  let healthProblem: string | undefined;
  for (const [index, api] of apis.entries()) {
    const which = apis.length > 1 ? ` (instance ${index + 1}, ${api.baseUrl})` : '';
    try {
      const health = await readHealth(api);
      const database = health.database ? `, database ${health.database}` : '';
      evidence.push(`/health${which}: HTTP ${health.http_status} ${health.status ?? ''}${database}`.trim());
      if (!health.healthy) healthProblem ??= `/health${which} answers ${health.problem}`;
    } catch (error) {
      healthProblem ??= `the app${which} cannot be reached: ${messageOf(error)}`;
      evidence.push(`/health${which}: ${messageOf(error)}`);
    }
  }

  // The last minute, and the last 10 seconds: an incident that began moments ago shows in the
  // second long before it moves the first; the reading goes by the recent one when it has enough requests.
  let errorRate: number | undefined;
  let failureRate: number | undefined;
  let p95: number | undefined;
  let seen = 0; // user requests the reading rests on
  for (const windowS of [WINDOW_S, RECENT_S]) {
    try {
      const m = await target.profile.metrics(target, windowS);
      if (windowS === WINDOW_S) seen = m.requests;
      evidence.push(
        `metrics, last ${windowS} s${apis.length > 1 ? ` (${apis.length} instances added up)` : ''}: ${m.requests} requests, ${m.errors} errors (${pct(m.error_rate)}), p95 ${m.latency_ms.p95} ms${m.trimp_calculations !== undefined ? `, ${m.trimp_failures ?? 0} of ${m.trimp_calculations} TRIMP calculations failed` : ''}`,
      );
      if (windowS === RECENT_S && m.requests < config.thresholds.minRequests) continue;
      errorRate = m.requests > 0 ? m.error_rate : undefined;
      failureRate = m.trimp_calculations ? (m.trimp_failures ?? 0) / m.trimp_calculations : undefined;
      p95 = m.requests > 0 ? m.latency_ms.p95 : undefined;
    } catch (error) {
      evidence.push(`metrics, last ${windowS} s: ${messageOf(error)}`);
    }
  }

  const now = new Date();
  const read = await attempt(() => target.logs.errorLines(new Date(now.getTime() - 15 * 60_000), now));
  if (!read.ok) evidence.push(`${target.logs.label}: could not be read: ${read.reason}`);
  else if (read.value === undefined) evidence.push(`${target.logs.label}: none in ${target.logs.where}`);
  else {
    const [top] = errorPatterns(read.value, undefined, target.profile.logFormat);
    evidence.push(
      `${target.logs.label}, last 15 min: ${read.value.length} error lines${top ? `; most often (${top.count}×): ${maskLogSecrets(top.shape).slice(0, 100)}` : ''}`,
    );
  }

  const t = config.thresholds;
  if (quick && !isOk(quick)) return { issue: 'data-corruption', why: `the database fails quick_check (${describeCheck(quick)})`, evidence };
  if (healthProblem) return { issue: 'instability', why: healthProblem, evidence };
  if ((failureRate ?? 0) >= t.errorRateFail || (errorRate ?? 0) >= t.errorRateFail)
    return {
      issue: 'trimp-errors',
      why: `errors while the app is healthy: ${failureRate !== undefined ? `${pct(failureRate)} of TRIMP calculations fail` : `error rate ${pct(errorRate ?? 0)}`} (threshold ${pct(t.errorRateFail)})`,
      evidence,
    };
  if ((p95 ?? 0) > t.latencyP95Ms) return { issue: 'performance', why: `p95 latency ${p95} ms is above ${t.latencyP95Ms} ms`, evidence };
  // Evidence, not hope: "no errors" needs requests to have none in.
  if (seen < t.minRequests)
    return {
      issue: undefined,
      why: `no row of the matrix can be read off the system: ${seen} user request(s) seen in the last ${WINDOW_S} s (${t.minRequests} needed to judge errors and latency), ${quick ? 'data intact' : 'data not checked'}; say the issue with --issue`,
      evidence,
    };
  return {
    issue: undefined,
    why: `nothing the matrix covers shows: healthy, no errors above the threshold, latency normal, ${quick ? 'data intact' : 'data not checked'}`,
    evidence,
  };
}

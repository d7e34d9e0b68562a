import { setTimeout as sleep } from 'node:timers/promises';
import { isTrimpError } from '../errors.js';
import { checkedOutRelease } from '../target/deploy-history.js';
import type { Figures, SystemMetrics } from '../target/metrics.js';
import type { StoredActivity } from '../target/profiles/index.js';
import { ENHANCED_TRIMP_FLAG, type FlagStates, USER_TYPES } from '../target/user-types.js';
import { banisterAverage, roundTrimp } from '../trimp/banister.js';
import { REFERENCE_VECTORS } from '../trimp/reference-vectors.js';
import { banisterStream } from '../trimp/stream.js';
import { withApp, withDatabase } from './app-access.js';
import { type CheckContext, type CheckDefinition, fail, pass, warn } from './check.js';

export const usersCanReach: CheckDefinition = {
  name: 'users-can-reach',
  perInstance: true,
  group: 'user-experience',
  title: 'Users can access the application',
  run: (ctx) =>
    withApp(ctx, async () => {
      const reach = await ctx.target.profile.userReach(ctx.target, ctx.signal);
      if (!reach.ok) return fail(reach.text, `see ${ctx.target.logs.where}`, reach.evidence);
      return pass(reach.text, reach.evidence);
    }),
};

/** (a) The formulas themselves: the seed's example and the reference vectors that need no stream file. */
export const trimpReference: CheckDefinition = {
  name: 'trimp-reference',
  group: 'user-experience',
  title: 'TRIMP calculations are working (reference values)',
  async run() {
    const seed = banisterAverage({ durationMin: 60, avgHr: 150, restingHr: 50, maxHr: 180, sex: 'male' });
    const problems: string[] = [];
    if (Math.abs(seed - 129.36) > 0.01) problems.push(`seed example gives ${seed.toFixed(4)}, expected 129.36 ± 0.01`);
    let checked = 1;
    for (const v of REFERENCE_VECTORS) {
      const profile = { durationMin: v.inputs.duration_min, restingHr: v.inputs.resting_hr, maxHr: v.inputs.max_hr, sex: v.inputs.sex };
      let got: number;
      if (v.kind === 'banister_average') got = banisterAverage({ ...profile, avgHr: v.inputs.avg_hr ?? 0 });
      else {
        const outcome = banisterStream({ ...profile, hr: v.inputs.hr ?? [] });
        got = outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp;
      }
      checked += 1;
      if (roundTrimp(got) !== v.app_output_2dp) problems.push(`${v.id}: ${roundTrimp(got)} ≠ ${v.app_output_2dp}`);
    }
    if (problems.length > 0) return fail(problems.join('; '), 'the TRIMP formulas are wrong: this is a bug in trimp-rollback');
    return pass(`seed example 129.36 ± 0.01 and ${checked - 1} reference vectors hold`, { seed_example: roundTrimp(seed) });
  },
};

/**
 * (b) The app's own answer for each user type, against the method the flag selects for it now:
 * several calculations per type (a fault that fails a share of requests shows in a sample).
 */
export const trimpAppAnswer: CheckDefinition = {
  name: 'trimp-app-answer',
  perInstance: true,
  group: 'user-experience',
  title: "TRIMP calculations are working (the app's answer)",
  run: (ctx) =>
    withApp(ctx, async () => {
      // An app whose flags are code has none in its database (--via db): its answers do not depend on them.
      const states = await ctx.target.flags.read(ENHANCED_TRIMP_FLAG).catch((error: unknown) => {
        if (isTrimpError(error) && error.code === 'flags-in-code') return {} as FlagStates;
        throw error;
      });
      // A release that says it predates the enhanced method (app.json "enhanced_trimp": false)
      // computes the average whatever the flag says: that is its right answer.
      const release = checkedOutRelease(ctx.target.config.appDir);
      const capable = release.enhanced_trimp !== false;
      const n = ctx.thresholds.trimpSamples;
      const profile = ctx.target.profile;
      const perType = await Promise.all(
        USER_TYPES.map(async (type) => {
          const userId = ctx.target.config.sampleUsers[type];
          return { type, userId, answers: await profile.appTrimp(ctx.target, userId, capable && (states[type] ?? false), n, ctx.signal) };
        }),
      );
      // Evidence, not hope: a pass needs compared answers for every user type.
      const unanswered = perType.filter(({ answers }) => !answers.some((a) => a.problem !== 'none to compare'));
      const problems = perType.flatMap(({ type, answers }) => {
        const wrong = answers.filter((a) => !a.ok);
        return wrong.length
          ? [`${type}: ${wrong.length} of ${answers.length} wrong (${[...new Set(wrong.map((a) => a.problem))].join('; ')})`]
          : [];
      });
      const evidence = {
        source: profile.appTrimpSource,
        flag: states,
        release: { version: release.version, enhanced_trimp: release.enhanced_trimp },
        samples_per_type: n,
        answers: perType.map(({ type, userId, answers }) => ({
          type,
          user_id: userId,
          ok: answers.filter((a) => a.ok).length,
          wrong: answers.filter((a) => !a.ok).length,
          first: answers[0],
        })),
      };
      if (problems.length > 0)
        return fail(
          problems.join('; '),
          'the app does not compute what the flag says: check the deployed version and the flag store',
          evidence,
        );
      if (unanswered.length > 0)
        return warn(
          `nothing to compare for ${unanswered.map(({ type, userId, answers }) => `${type} (user ${userId}: ${answers[0]?.answer ?? 'no answer'})`).join(', ')}`,
          'choose target.sample_users that have activities with heart rate',
          evidence,
        );
      const answered = perType
        .map(({ userId, answers }) => `user ${userId}: ${answers[0]?.answer ?? 'none'} (${answers.length} of ${answers.length})`)
        .join(', ');
      return pass(
        capable
          ? answered
          : `${answered}; release ${release.version ?? '(unnamed)'} predates the enhanced method: the average whatever the flag says`,
        evidence,
      );
    }),
};

/** (c) Stored values: a sample of recent activities recomputed from their stored inputs. */
export const trimpStoredValues: CheckDefinition = {
  name: 'trimp-stored-values',
  group: 'user-experience',
  title: 'TRIMP calculations are working (stored values)',
  run(ctx) {
    return withDatabase(ctx, async () => {
      const db = await ctx.target.openDatabase({ readonly: true });
      try {
        const rows = await ctx.target.profile.storedActivities(db, ctx.thresholds.storedSample);
        const changes = await ctx.target.profile.flagChanges(db);
        const flags = changes ?? [];
        const mismatches: string[] = [];
        const wrongMethod: string[] = [];
        for (const row of rows) {
          const expected = recompute(row);
          if (expected !== undefined && Math.abs(expected - row.trimp) > 0.01)
            mismatches.push(`activity ${row.activity_id}: stored ${row.trimp}, recomputed ${expected}`);
          const flag = flags.find((f) => f.user_type === row.user_type);
          // Computed with the enhanced method after the flag was turned off for this user's type.
          if (
            row.trimp_calculation_method === 'stream' &&
            flag &&
            !flag.enabled &&
            row.trimp_processed_at &&
            processedAfterFlip(row.trimp_processed_at, flag.updated_at)
          ) {
            wrongMethod.push(
              `activity ${row.activity_id} (${row.user_type}) used the stream method at ${row.trimp_processed_at}, after the flag went off at ${flag.updated_at}`,
            );
          }
        }
        const evidence = {
          sampled: rows.length,
          mismatches: mismatches.slice(0, 10),
          wrong_method: changes ? wrongMethod.slice(0, 10) : 'not checked: the app keeps no record of when its flags changed',
        };
        if (mismatches.length > 0 || wrongMethod.length > 0) {
          return fail(
            `${mismatches.length} of ${rows.length} recent activities do not recompute, ${wrongMethod.length} used a method the flag had turned off`,
            'recompute the listed activities once the app is fixed',
            evidence,
          );
        }
        if (rows.length === 0) return warn('no activities with a computed TRIMP to recompute', 'check target.database', evidence);
        return pass(
          changes
            ? `${rows.length} recent activities recompute within ± 0.01 and agree with the flag`
            : `${rows.length} recent activities recompute within ± 0.01 by their method column (flags are set in code: the method's timing is not checked)`,
          evidence,
        );
      } finally {
        await db.close();
      }
    });
  },
};

function recompute(row: StoredActivity): number | undefined {
  // The app stores 0.0 for a user without heart-rate settings.
  if (row.resting_hr === null || row.max_hr === null) return 0;
  const profile = {
    durationMin: Number(row.duration_minutes),
    restingHr: Number(row.resting_hr),
    maxHr: Number(row.max_hr),
    sex: row.gender === 'female' ? ('female' as const) : ('male' as const),
  };
  if (row.trimp_calculation_method === 'stream') {
    if (!row.hr_data) return undefined;
    const hr = typeof row.hr_data === 'string' ? (JSON.parse(row.hr_data) as unknown[]) : row.hr_data;
    const outcome = banisterStream({ ...profile, hr });
    return roundTrimp(outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp);
  }
  return roundTrimp(banisterAverage({ ...profile, avgHr: Number(row.avg_heart_rate) }));
}

/** The figures over a known span: the app's own, or the one asked for when it does not say. */
type WindowMetrics = SystemMetrics & { window_seconds: number };

interface Traffic {
  metrics: WindowMetrics;
  /** Why the traffic is not yet enough to call the result a pass; undefined when it is. */
  shortfall: string | undefined;
}

/**
 * User traffic since the last change (waiting first if the configured minimum window has not
 * passed), so errors from before the rollback do not count against it. With --settle the check
 * waits, up to that long, for the minimum number of user requests.
 */
async function trafficSinceChange(ctx: CheckContext): Promise<Traffic> {
  const deadline = Date.now() + ctx.settleMs;
  for (;;) {
    const metrics = await metricsSinceChange(ctx);
    const shortfall =
      metrics.requests < ctx.thresholds.minRequests
        ? `not enough evidence yet: ${metrics.requests} user request(s) ${windowText(ctx, metrics)}, ${ctx.thresholds.minRequests} needed`
        : undefined;
    if (!shortfall || Date.now() >= deadline) return { metrics, shortfall };
    await sleep(Math.min(1000, deadline - Date.now()), undefined, { signal: ctx.signal });
  }
}

/** The longest window asked of the app: the seed's 15-minute monitoring window. */
const MAX_WINDOW_S = 15 * 60;

async function metricsSinceChange(ctx: CheckContext): Promise<WindowMetrics> {
  let windowS = 60;
  if (ctx.changedAt) {
    const elapsedS = (Date.now() - ctx.changedAt.getTime()) / 1000;
    if (elapsedS < ctx.thresholds.minErrorWindowS)
      await sleep((ctx.thresholds.minErrorWindowS - elapsedS) * 1000, undefined, { signal: ctx.signal });
    windowS = Math.min(MAX_WINDOW_S, Math.max(0.05, (Date.now() - ctx.changedAt.getTime()) / 1000));
  }
  const metrics = await ctx.target.profile.instanceMetrics(ctx.target, windowS, ctx.signal);
  return { ...metrics, window_seconds: metrics.window_seconds ?? Number(windowS.toFixed(2)) };
}

/** What the window is: since the change (or --since), or, with neither, the last minute. */
function windowText(ctx: CheckContext, m: WindowMetrics): string {
  if (!ctx.changedAt) return `in the last ${m.window_seconds} s`;
  const elapsedS = (Date.now() - ctx.changedAt.getTime()) / 1000;
  return elapsedS > MAX_WINDOW_S ? `in the last ${MAX_WINDOW_S / 60} min (the change was longer ago)` : 'since the change';
}

/** Every user type's slice (not only the ones the run changed), or the whole when the app gives none. */
function slices(m: WindowMetrics): [string, Figures][] {
  if (!m.per_user_type) return [['all users', m]];
  return USER_TYPES.map((type): [string, Figures] => [
    type,
    m.per_user_type?.[type] ?? { requests: 0, errors: 0, error_rate: 0, latency_ms: { p50: 0, p95: 0, p99: 0 } },
  ]);
}

const MORE_EVIDENCE = 'run validate again once users have been active, or let the step wait for them: --settle 30s';

export const noUserErrors: CheckDefinition = {
  name: 'user-errors',
  perInstance: true,
  group: 'user-experience',
  title: 'No user-facing errors',
  run: (ctx) =>
    withApp(ctx, async () => {
      const { metrics: m, shortfall } = await trafficSinceChange(ctx);
      const parts = slices(m);
      const evidence = {
        window_seconds: m.window_seconds,
        requests: m.requests,
        errors: m.errors,
        error_rate: m.error_rate,
        min_requests: ctx.thresholds.minRequests,
        per_user_type: Object.fromEntries(
          parts.map(([type, f]) => [type, { requests: f.requests, errors: f.errors, error_rate: f.error_rate }]),
        ),
        ...endpointEvidence(
          m,
          (f) => f.errors,
          (f) => ({ requests: f.requests, errors: f.errors }),
        ),
      };
      const perType = parts.map(([type, f]) => `${type} ${f.errors}/${f.requests}`).join(', ');
      const text = `${m.errors} errors in ${m.requests} user requests over ${m.window_seconds} s (${(m.error_rate * 100).toFixed(1)}%; ${perType})`;
      const failingEndpoints = worstEndpoints(
        m,
        (f) => f.errors,
        (f) => `${f.errors} of ${f.requests} failed`,
      );
      const remedy = `${failingEndpoints ? `failing: ${failingEndpoints}; ` : ''}see ${ctx.target.logs.where}; if the enhanced method fails, ${flagRemedy(ctx, 'roll the flag back for the affected users')}`;
      // Errors seen are evidence enough to fail; a pass needs enough requests.
      const failing = parts.filter(([, f]) => f.requests > 0 && f.error_rate >= ctx.thresholds.errorRateFail).map(([type]) => type);
      // Failed requests the app could not tie to a user (its database down: no user to look up)
      // are in the total only: the total is judged too.
      if (failing.length === 0 && m.requests > 0 && m.error_rate >= ctx.thresholds.errorRateFail)
        failing.push('all users (errors not tied to a user type)');
      if (failing.length > 0) return fail(`${text}: too many errors for ${failing.join(', ')}`, remedy, evidence);
      if (shortfall) return warn(`${shortfall} (${text})`, MORE_EVIDENCE, evidence);
      const warning = parts.filter(([, f]) => f.requests > 0 && f.error_rate >= ctx.thresholds.errorRateWarn).map(([type]) => type);
      if (warning.length > 0) return warn(`${text}: errors for ${warning.join(', ')}`, remedy, evidence);
      return pass(text, evidence);
    }),
};

export const performanceAcceptable: CheckDefinition = {
  name: 'performance',
  perInstance: true,
  group: 'user-experience',
  title: 'Performance is acceptable',
  run: (ctx) =>
    withApp(ctx, async () => {
      const { metrics: m, shortfall } = await trafficSinceChange(ctx);
      const parts = slices(m);
      const evidence = {
        window_seconds: m.window_seconds,
        requests: m.requests,
        ...m.latency_ms,
        per_user_type: Object.fromEntries(parts.map(([type, f]) => [type, { requests: f.requests, ...f.latency_ms }])),
        ...endpointEvidence(
          m,
          (f) => f.latency_ms.p95,
          (f) => ({ requests: f.requests, ...f.latency_ms }),
        ),
      };
      const slowest = worstEndpoints(
        m,
        (f) => f.latency_ms.p95,
        (f) => `p95 ${f.latency_ms.p95} ms`,
      );
      const perType = parts.map(([type, f]) => `${type} p95 ${f.latency_ms.p95} ms`).join(', ');
      const text = `p95 ${m.latency_ms.p95} ms, p99 ${m.latency_ms.p99} ms over ${m.requests} user requests in ${m.window_seconds} s (${perType})`;
      const slow = parts.filter(([, f]) => f.requests > 0 && f.latency_ms.p95 > ctx.thresholds.latencyP95Ms).map(([type]) => type);
      if (slow.length > 0)
        return fail(
          `${text}: p95 above ${ctx.thresholds.latencyP95Ms} ms for ${slow.join(', ')}`,
          `${slowest ? `slowest: ${slowest}; ` : ''}a performance degradation: ${flagRemedy(ctx, "the flag rollback is the seed's remedy")}`,
          evidence,
        );
      if (shortfall) return warn(`${shortfall} (${text})`, MORE_EVIDENCE, evidence);
      const tail = parts.filter(([, f]) => f.requests > 0 && f.latency_ms.p99 > ctx.thresholds.latencyP99Ms).map(([type]) => type);
      if (tail.length > 0)
        return warn(
          `${text}: p99 above ${ctx.thresholds.latencyP99Ms} ms for ${tail.join(', ')}`,
          'watch the latency; check host load',
          evidence,
        );
      return pass(text, evidence);
    }),
};

/**
 * A request that read the flag just before it went off writes its activity just after: that is
 * not a wrong method. Beyond this grace (far longer than one request), an activity that used the
 * stream method was calculated by something that did not see the change (a stale instance).
 */
const FLIP_GRACE_MS = 2000;

function processedAfterFlip(processedAt: string, flippedAt: string): boolean {
  const late = Date.parse(processedAt) - Date.parse(flippedAt);
  return Number.isNaN(late) ? processedAt > flippedAt : late > FLIP_GRACE_MS;
}

/** The flag rollback, or, on an app whose flags are set in code, the way that works there. */
function flagRemedy(ctx: CheckContext, seed: string): string {
  return ctx.target.profile.flagChangeRefusal(ctx.target.config, ctx.target.via)?.instead ?? seed;
}

/** The ten endpoints that rank worst by `rank`, when the source records endpoints (api_logs does). */
function ranked(m: SystemMetrics, rank: (f: Figures) => number): [string, Figures][] {
  return Object.entries(m.per_endpoint ?? {})
    .filter(([, f]) => rank(f) > 0)
    .sort(([, a], [, b]) => rank(b) - rank(a))
    .slice(0, 10);
}

function endpointEvidence(m: SystemMetrics, rank: (f: Figures) => number, shown: (f: Figures) => Record<string, number>) {
  return m.per_endpoint ? { per_endpoint: Object.fromEntries(ranked(m, rank).map(([name, f]) => [name, shown(f)])) } : {};
}

function worstEndpoints(m: SystemMetrics, rank: (f: Figures) => number, said: (f: Figures) => string): string {
  return ranked(m, rank)
    .slice(0, 3)
    .map(([name, f]) => `${name} (${said(f)})`)
    .join(', ');
}

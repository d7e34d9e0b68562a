import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Choice } from '../engine/confirm.js';
import { messageOf } from '../errors.js';
import { conditionSchema, describeCondition } from '../monitor/conditions.js';
import { type Decision, type Judgement, judgeWindow, type Sample } from '../monitor/judge.js';
import { describeSample, takeSample } from '../monitor/sample.js';
import { formatMs } from '../report/format.js';
import { errorRateOf } from '../report/sparkline.js';
import { apiUrl } from '../target/admin-api.js';
import { readHealth } from '../target/health.js';
import { METRICS_PATH } from '../target/metrics.js';
import { type FlagStates, USER_TYPES } from '../target/user-types.js';
import { type ActionContext, defineAction, type StepOutcome } from './action.js';
import { duration, flagName, stageLeftOut, stageNumber, stageOrder } from './params.js';

/** Every sample is journaled and the window judged again after it: bounded, like a runbook's steps. */
export const MAX_SAMPLES = 3600;

const params = z
  .object({
    flag: flagName,
    /** The gradual rollback this window belongs to: its cohorts in order, and which stage was just done. */
    stages: stageOrder,
    stage: stageNumber.optional(),
    window: duration.default(15 * 60_000),
    interval: duration.default(30_000),
    /** Skip the window (--fast): no evidence is gathered, and the run says so. */
    fast: z.boolean().default(false),
    conditions: z.array(conditionSchema).min(1, 'a window needs at least one condition'),
  })
  .strict()
  .refine((p) => p.interval >= 100, { message: 'interval is at least 100ms', path: ['interval'] })
  .refine((p) => p.window >= p.interval, { message: 'window must be at least one interval long', path: ['window'] })
  .refine((p) => p.window / p.interval <= MAX_SAMPLES, {
    message: `at most ${MAX_SAMPLES} samples a window: a longer interval, or a shorter window`,
    path: ['interval'],
  });
type Params = z.output<typeof params>;

/**
 * Where this window sits in the stages: the cohort just rolled back, the cohorts rolled back so
 * far, and the next one, if any. A monitor outside a gradual rollback (no stage) has none.
 */
function position({ stages, stage }: Params) {
  if (stage === undefined) return { cohort: undefined, done: [], next: undefined, nextStage: 0 };
  return { cohort: stages[stage - 1], done: stages.slice(0, stage), next: stages[stage], nextStage: stage + 1 };
}

/**
 * The seed's "monitor for 15 minutes" made a decision: sample the metrics (and, where a
 * condition says, the error log) every interval over the window, journal every sample, and
 * decide from the runbook's conditions. Recovered ends the run (the later stages are not
 * needed); failing goes on to the next stage (or fails the run after the last); inconclusive
 * asks the operator on a terminal and fails the run without one. An interrupted window is
 * never judged: resuming starts a new one.
 */
export const monitor = defineAction<Params>({
  name: 'monitor',
  description: 'Watch the performance metrics over a window and decide: recovered (end the run), failing (next stage) or ask.',
  rehearsal: 'print',
  confirm: false,
  params,
  describe(p, info) {
    const { next, nextStage } = position(p);
    if (p.fast) return [{ kind: 'wait', text: 'no window (--fast): the next stage follows at once, without evidence' }];
    const samples = Math.floor(p.window / p.interval);
    const url = apiUrl(info.baseUrl, `${METRICS_PATH}?window=${p.interval / 1000}`);
    return [
      { kind: 'wait', text: `watch ${formatMs(p.window)}: GET ${url} every ${formatMs(p.interval)} (${samples} samples)` },
      ...p.conditions.map((c) => ({ kind: 'wait' as const, text: `judge: ${describeCondition(c)}` })),
      {
        kind: 'wait',
        text: next
          ? `then: recovered → the run ends here; failing → stage ${nextStage} (${next}); inconclusive → ask the operator`
          : 'then: recovered → done; failing → the run fails (every stage is done); inconclusive → ask the operator',
      },
    ];
  },
  leftOut: ({ stages, stage }) => (stage === undefined ? undefined : stageLeftOut(stages, stage)),
  async run(p, ctx) {
    const { cohort, next, nextStage } = position(p);
    if (p.fast) {
      ctx.observe('monitor_skipped', { stage: p.stage, cohort, reason: '--fast' });
      return {
        status: 'skipped',
        summary: `window skipped (--fast): no evidence that ${cohort ? `the ${cohort} stage` : 'this stage'} was enough${next ? `; going on to stage ${nextStage} (${next})` : ''}`,
        evidence: { fast: true, stage: p.stage ?? null, cohort: cohort ?? null },
        warnings: ['--fast: this window was skipped; nothing shows that the app recovered'],
      };
    }
    for (let window = 1; ; window++) {
      const watched = await watchWindow(p, ctx, window);
      if ('interrupted' in watched) return watched.interrupted;
      const judgement = await withHealth(watched.judgement, ctx);
      ctx.observe('monitor_decision', { stage: p.stage ?? null, cohort: cohort ?? null, window, ...judgement, findings: undefined });
      if (judgement.decision !== 'inconclusive') return await outcomeOf(p, ctx, judgement, judgement.decision, 'evidence', window);
      const answer = await askOperator(p, ctx, judgement);
      if (answer === undefined)
        return {
          status: 'failed',
          summary: `inconclusive window and no terminal to ask: ${judgement.reasons.join('; ')}`,
          evidence: await evidenceOf(p, ctx, judgement, 'evidence', window),
          warnings: [
            `nobody judged this window: resume the run on a terminal to watch a new one and decide${next ? `, or disable the flag for ${p.stages.slice(nextStage - 1).join(', ')} yourself` : ''}`,
          ],
        };
      if (answer === 'interrupt') return interruptedOutcome(window, watched.samples.length, watched.samples.length);
      ctx.observe('operator_decision', { stage: p.stage ?? null, window, answer });
      if (answer !== 'watch')
        return await outcomeOf(p, ctx, judgement, answer === 'recovered' ? 'recovered' : 'failing', 'operator', window);
    }
  },
});

type Watched = { judgement: Judgement; samples: Sample[] } | { interrupted: StepOutcome };

/**
 * Figures that hold are not a recovery while the app itself says it is unhealthy: /health is
 * read once at the window's end, and a "recovered" window becomes "failing" with what it said
 * (an app answering 503 throughout would otherwise be judged recovered on its users' figures).
 */
async function withHealth(judgement: Judgement, ctx: ActionContext): Promise<Judgement> {
  if (judgement.decision !== 'recovered') return judgement;
  let problem: string | undefined;
  try {
    problem = (await readHealth(ctx.target.api, ctx.signal)).problem;
  } catch (error) {
    problem = `could not be read: ${messageOf(error)}`;
  }
  if (problem === undefined) return judgement;
  return {
    ...judgement,
    decision: 'failing',
    reasons: [`the figures hold, but /health is not healthy (${problem})`, ...judgement.reasons],
  };
}

/** One window: a sample at the end of every interval, on a fixed schedule (a slow sample does not stretch it). */
async function watchWindow(p: Params, ctx: ActionContext, window: number): Promise<Watched> {
  const total = Math.max(1, Math.floor(p.window / p.interval));
  const start = Date.now();
  const samples: Sample[] = [];
  const timeoutMs = Math.max(1000, p.interval);
  const source = {
    metrics: (windowS: number, signal: AbortSignal) => ctx.target.profile.metrics(ctx.target, windowS, signal),
    errorLines: (from: Date, until: Date) => ctx.target.logs.errorLines(from, until),
    logsWhere: ctx.target.logs.where,
    conditions: p.conditions,
    signal: ctx.signal,
    timeoutMs,
  };
  let from = new Date(start);
  ctx.progress(
    `${clock(new Date())} window ${window}: ${total} samples, every ${formatMs(p.interval)}, for ${formatMs(total * p.interval)}`,
  );
  for (let index = 1; index <= total; index++) {
    const wait = start + index * p.interval - Date.now();
    try {
      if (wait > 0) await sleep(wait, undefined, { signal: ctx.signal });
    } catch {
      return { interrupted: interruptedOutcome(window, samples.length, total) };
    }
    if (ctx.signal.aborted) return { interrupted: interruptedOutcome(window, samples.length, total) };
    const until = new Date();
    const sample = await takeSample(source, from, until);
    // `from` journaled too: the window's samples are part of the run's metric series (the report's charts).
    ctx.observe('monitor_sample', { stage: p.stage ?? null, window, index, of: total, from: from.toISOString(), ...sample });
    from = until;
    samples.push(sample);
    const sofar = judgeWindow(p.conditions, samples).decision;
    ctx.progress(
      `${clock(until)} sample ${index}/${total}: ${describeSample(sample)} → ${sofar} so far`,
      samples.map((s) => errorRateOf(s.slices.all)),
    );
  }
  return { judgement: judgeWindow(p.conditions, samples), samples };
}

function interruptedOutcome(window: number, taken: number, total: number): StepOutcome {
  return {
    status: 'skipped',
    summary: `window ${window} interrupted after ${taken} of ${total} samples: not judged (resuming starts a new window)`,
    evidence: { window, samples: taken, of: total, decision: null },
  };
}

const CHOICES = (next: string | undefined): Choice[] => [
  {
    key: 'r',
    word: 'recovered',
    meaning: next ? 'the app is fine: end the run here, the later stages are not needed' : 'the app is fine: the run succeeds',
  },
  ...(next ? [{ key: 'n', word: 'next', meaning: `go on to the next stage (${next})` }] : []),
  { key: 'w', word: 'watch', meaning: 'watch another window before deciding' },
];

/** The operator's judgement of an inconclusive window; undefined when nobody can be asked. */
async function askOperator(p: Params, ctx: ActionContext, judgement: Judgement): Promise<string | undefined> {
  if (!ctx.ask) return undefined;
  const { cohort, next } = position(p);
  return ctx.ask(
    `The window after ${cohort ? `the ${cohort} stage` : 'this stage'} is inconclusive. What do the figures say?`,
    judgement.reasons,
    CHOICES(next),
  );
}

async function outcomeOf(
  p: Params,
  ctx: ActionContext,
  judgement: Judgement,
  decision: Exclude<Decision, 'inconclusive'>,
  by: 'evidence' | 'operator',
  window: number,
): Promise<StepOutcome> {
  const { cohort, done, next, nextStage } = position(p);
  const evidence = await evidenceOf(p, ctx, judgement, by, window);
  const states = evidence.flag_states as FlagStates | null;
  // The window judges the stages done only if they still hold: a cohort turned back on (or a
  // state nobody can read) means the figures are about something else.
  if (done.length > 0 && states === null)
    return {
      status: 'failed',
      summary: `could not read the flag states at the end of the window (${evidence.flag_read_error}): the figures cannot be tied to the stages done (${done.join(', ')})`,
      evidence,
      warnings: ['resume the run once the app answers again: it watches a new window'],
    };
  const back = done.filter((type) => states?.[type] !== false);
  if (back.length > 0)
    return {
      status: 'failed',
      summary: `the flag is on again for ${back.join(', ')} at the end of the window (changed by someone else?): this window cannot judge the stages done (${done.join(', ')})`,
      evidence,
      warnings: ['look at who changed the flag (trimp-rollback runs list; the feature-flag history of the app), then resume'],
    };
  const why = by === 'operator' ? `the operator judged it ${decision} (${judgement.reasons.join('; ')})` : judgement.reasons.join('; ');
  const still = evidence.still_enabled as string[] | null;
  const keep =
    still === null
      ? 'the flag states could not be read'
      : still.length
        ? `${still.join(', ')} ${still.length === 1 ? 'keeps' : 'keep'} the enhanced calculation`
        : 'no cohort has the enhanced calculation';
  if (decision === 'recovered')
    return {
      status: 'succeeded',
      summary: `recovered: ${why}; ${keep}`,
      evidence,
      ...(next ? { endsRun: `recovered after the ${cohort} stage; ${keep}` } : {}),
    };
  if (next) return { status: 'succeeded', summary: `still failing: ${why}; going on to stage ${nextStage} (${next})`, evidence };
  return {
    status: 'failed',
    summary: `still failing after the last stage: ${why}. The enhanced calculation is off for ${p.stages.join(', ')}, so it is not (only) the cause`,
    evidence,
    warnings: [
      'look past the flag: an application rollback (trimp-rollback application --dry-run) or a database rollback (trimp-rollback database --dry-run)',
    ],
  };
}

async function evidenceOf(p: Params, ctx: ActionContext, judgement: Judgement, by: string, window: number) {
  const { cohort } = position(p);
  let states: FlagStates | null = null;
  let readError: string | null = null;
  try {
    states = await ctx.target.flags.read(p.flag);
  } catch (error) {
    readError = messageOf(error);
  }
  return {
    stage: p.stage ?? null,
    cohort: cohort ?? null,
    window,
    window_ms: p.window,
    interval_ms: p.interval,
    decision: judgement.decision,
    decided_by: by,
    reasons: judgement.reasons,
    findings: judgement.findings,
    flag_states: states,
    flag_read_error: readError,
    still_enabled: states ? USER_TYPES.filter((type) => states![type] === true) : null,
  };
}

function clock(at: Date): string {
  return at.toISOString().slice(11, 19);
}

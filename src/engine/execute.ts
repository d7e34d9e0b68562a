import type { ActionContext, ActionDefinition, StepOutcome } from '../actions/action.js';
import { actionNamed } from '../actions/index.js';
import { messageOf } from '../errors.js';
import type { Target } from '../target/target.js';
import type { Asker, Confirmer } from './confirm.js';
import type { Interruption } from './interrupt.js';
import type { Journal } from './journal.js';
import type { Plan, PlannedStep } from './plan.js';
import type { Progress } from './progress.js';
import type { RunStatus, StepReport } from './result.js';

export interface ExecuteServices {
  /** When the run (this attempt) began: what its report and its notice to users count from. */
  startedAt?: Date;
  target: Target;
  confirmer: Confirmer;
  /** Who judges what a step cannot decide alone; undefined when nobody can be asked. */
  asker?: Asker | undefined;
  /** Absent in a dry run: a rehearsal records nothing. */
  journal: Journal | undefined;
  progress: Progress;
  interruption: Interruption;
  attempt: number;
  /** How long validation may wait for enough user traffic after a change (--settle). */
  settleMs: number;
  /** Who runs it and why: recorded where a step keeps its own history (deployments). */
  who: { operator: string; reason: string | null };
  /** Told which step is in flight (a hard stop journals it; notifications say it), and when it ends. */
  onStep?: (step: PlannedStep | null) => void;
  /** Facts earlier attempts journaled (on resume), in order. */
  earlier?: readonly Observation[];
  /** When an earlier attempt last changed the system (on resume). */
  lastChangeAt?: Date;
}

/** A fact a step journaled (such as the flag states before a change). */
export interface Observation {
  step: string;
  name: string;
  data: unknown;
}

export interface Execution {
  status: RunStatus;
  steps: StepReport[];
  durationMs: number;
  /** Every fact journaled in this attempt, in order. */
  observations: Observation[];
}

export async function executePlan(plan: Plan, services: ExecuteServices): Promise<Execution> {
  const started = performance.now();
  const facts: MutableFacts = {
    startedAt: services.startedAt ?? new Date(),
    budgetMs: plan.runbook.budgetMs,
    lastChangeAt: services.lastChangeAt,
    settleMs: services.settleMs,
    who: services.who,
    // The first fact of each name (the baseline before any change), earlier attempts first.
    observed: new Map([...(services.earlier ?? [])].reverse().map((o) => [o.name, o.data])),
    observations: [],
    confirmedStages: new Set(),
  };
  const reports: StepReport[] = [];
  let status: RunStatus = plan.dryRun ? 'planned' : 'succeeded';
  let changedEarlier = false;
  /** Why the steps still to come are not needed, once a step said so. */
  let endedBy: string | undefined;
  for (const step of plan.steps) {
    if (endedBy !== undefined || step.leftOut !== undefined) {
      const report = notNeeded(step, endedBy === undefined ? `left out: ${step.leftOut}` : `not needed: ${endedBy}`);
      reports.push(report);
      services.progress.stepFinished(report, performance.now() - started, plan.runbook.budgetMs);
      continue;
    }
    if (services.interruption.requested) {
      status = 'interrupted';
      break;
    }
    services.onStep?.(step);
    const report: StepReport = plan.dryRun
      ? await rehearseStep(plan, step, changedEarlier, services, facts)
      : await runStep(plan, step, services, facts);
    services.onStep?.(null);
    reports.push(report);
    if (report.ends_run !== undefined) endedBy = `${report.ends_run} (${step.id})`;
    else if (step.endedRun && report.status === 'done-before')
      endedBy = `${step.id} found, in an earlier attempt, that the steps after it are not needed`;
    changedEarlier ||= step.rehearsal !== 'probe' && !report.noop;
    if (step.confirm && step.rehearsal === 'print' && !report.noop && (report.status === 'succeeded' || report.status === 'warned'))
      facts.lastChangeAt = new Date();
    if (report.status === 'interrupted') status = 'interrupted';
    else if (report.status === 'failed') status = 'failed';
    else if (report.status === 'aborted') status = 'aborted';
    else if (report.status === 'declined' && !step.optional) status = 'declined';
    services.progress.stepFinished(report, performance.now() - started, plan.runbook.budgetMs);
    if (status !== 'succeeded' && status !== 'planned') break;
  }
  if (services.interruption.requested && status !== 'failed' && reports.length < plan.steps.length) status = 'interrupted';
  for (const step of plan.steps.slice(reports.length))
    reports.push(step.leftOut === undefined ? notRun(step) : notNeeded(step, `left out: ${step.leftOut}`));
  return { status, steps: reports, durationMs: performance.now() - started, observations: facts.observations };
}

async function runStep(plan: Plan, step: PlannedStep, services: ExecuteServices, facts: MutableFacts): Promise<StepReport> {
  const { journal, progress, confirmer, interruption } = services;
  const action = actionNamed(step.action);
  const ctx = contextFor(plan, step, services, facts);
  const base = reportBase(step);

  const rerun = step.resume === 'done' && !step.confirm && action.rerunWhenResumed === true;
  if (step.resume === 'done' && !rerun) {
    // A change that finished earlier is looked at again: if the world moved since (another
    // run undid it), resuming means doing it again, asked for like any change.
    if (!step.confirm || !action.reconcile || action.recheckWhenResumed === false || step.endedRun)
      return { ...base, status: 'done-before', summary: 'finished in an earlier attempt' };
    // A later change already ran after it (a later stage stopped the app this stage started):
    // what this step made true may have been undone on purpose. Doing it again would undo that.
    if (laterChangeRan(plan, step))
      return {
        ...base,
        status: 'done-before',
        summary: 'finished in an earlier attempt; later changes ran after it, so it is not re-checked',
      };
    const now = await guard(() => action.reconcile!(step.params, ctx));
    if ('failed' in now) {
      return failedBeforeActing(step, `could not re-check the earlier change: ${now.failed}`, services);
    }
    if (now.done) return { ...base, status: 'done-before', summary: `finished in an earlier attempt, and still true: ${now.summary}` };
    journal?.append({
      type: 'step.rechecked',
      step: step.id,
      done: false,
      summary: `undone since it finished: ${now.summary}`,
      evidence: now.evidence,
    });
    progress.note(`${step.id}: finished in an earlier attempt, but undone since (${now.summary}): doing it again`);
  }
  if (step.resume === 'recheck' && action.reconcile) {
    // The earlier attempt started this step and never said how it ended: look, don't assume.
    const recheck = await guard(() => action.reconcile!(step.params, ctx));
    if (!('failed' in recheck)) {
      journal?.append({ type: 'step.rechecked', step: step.id, done: recheck.done, summary: recheck.summary, evidence: recheck.evidence });
      progress.note(`${step.id}: re-checked after the interruption: ${recheck.summary}`);
      if (recheck.done)
        return {
          ...base,
          status: 'succeeded',
          summary: `already done (re-checked): ${recheck.summary}`,
          ...(recheck.evidence ? { evidence: recheck.evidence } : {}),
        };
    }
  }

  let blastRadius: string[] = [];
  if (step.confirm && action.reconcile && step.resume === 'run') {
    // Nothing to ask about when the world already is what the step would make it.
    const now = await guard(() => action.reconcile!(step.params, ctx));
    if ('failed' in now) return failedBeforeActing(step, `could not read the current state: ${now.failed}`, services);
    if (now.done) {
      const summary = `nothing to change: ${now.summary}`;
      journal?.append({
        type: 'step.finished',
        step: step.id,
        status: 'succeeded',
        summary,
        duration_ms: 0,
        evidence: now.evidence,
        noop: true,
      });
      return { ...base, status: 'succeeded', summary, noop: true, ...(now.evidence ? { evidence: now.evidence } : {}) };
    }
  }
  // A stage (a runbook run as a step) is confirmed once, before its first change, for all of them.
  const stageConfirmed = step.stage !== undefined && facts.confirmedStages.has(step.stage.id);
  if (step.confirm && !stageConfirmed) {
    if (action.blastRadius) {
      const read = await guard(() => action.blastRadius!(step.params, ctx));
      if ('failed' in read) return failedBeforeActing(step, `could not read the current state: ${read.failed}`, services);
      blastRadius = read;
    }
    progress.pause();
    const answer = await confirmer.confirm(
      step.stage
        ? {
            stepId: step.stage.id,
            title: `Stage "${step.stage.title}" (its changes are confirmed once, together)`,
            operations: stageOperations(plan, step),
            blastRadius,
            optional: false,
          }
        : { stepId: step.id, title: step.title, operations: base.operations, blastRadius, optional: step.optional },
    );
    if (answer === 'yes' || answer === 'all') {
      if (step.stage) facts.confirmedStages.add(step.stage.id);
    }
    if (answer === 'interrupt') {
      interruption.request();
      return {
        ...base,
        blast_radius: blastRadius,
        status: 'interrupted',
        summary: 'interrupted at the confirmation prompt; nothing was done',
      };
    }
    if (answer === 'no' || answer === 'quit') {
      journal?.append({ type: 'step.declined', step: step.id, answer, optional: step.optional });
      if (answer === 'quit')
        return { ...base, blast_radius: blastRadius, status: 'aborted', summary: 'the operator quit the run here; this step was not done' };
      const summary = step.optional
        ? 'declined by the operator; skipped (an optional step)'
        : 'declined by the operator; the steps after it need it, so the run ends here';
      return { ...base, blast_radius: blastRadius, status: 'declined', summary };
    }
  }

  journal?.append({
    type: 'step.started',
    step: step.id,
    index: step.index,
    action: step.action,
    params: step.params,
    attempt: services.attempt,
  });
  progress.stepStarted(step);
  const started = performance.now();
  const outcome = await outcomeOf(action, step, ctx);
  const durationMs = performance.now() - started;
  const interrupted = interruption.requested && outcome.status === 'skipped';
  const report: StepReport = {
    ...base,
    ...(blastRadius.length ? { blast_radius: blastRadius } : {}),
    status: interrupted ? 'interrupted' : outcome.status,
    duration_ms: Math.round(durationMs),
    summary: outcome.summary,
    ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
    ...(outcome.evidence ? { evidence: outcome.evidence } : {}),
    ...(outcome.endsRun !== undefined && !interrupted ? { ends_run: outcome.endsRun } : {}),
  };
  journal?.append({
    type: 'step.finished',
    step: step.id,
    status: report.status,
    summary: report.summary,
    duration_ms: report.duration_ms,
    ...(report.evidence ? { evidence: report.evidence } : {}),
    ...(report.warnings ? { warnings: report.warnings } : {}),
    ...(report.ends_run !== undefined ? { ends_run: report.ends_run } : {}),
  });
  return report;
}

/** Dry run: probes run for real, changing steps show what they would do and to whom. */
async function rehearseStep(
  plan: Plan,
  step: PlannedStep,
  changedEarlier: boolean,
  services: ExecuteServices,
  facts: MutableFacts,
): Promise<StepReport> {
  const action = actionNamed(step.action);
  const ctx = contextFor(plan, step, services, facts);
  const base = reportBase(step);
  if (step.rehearsal === 'probe') {
    services.progress.stepStarted(step);
    const started = performance.now();
    const outcome = await outcomeOf(action, step, ctx);
    // A check after a change can only see today's state: it ran, but its verdict is not the run's.
    return {
      ...base,
      status: changedEarlier ? 'planned' : outcome.status,
      duration_ms: Math.round(performance.now() - started),
      summary: changedEarlier
        ? `ran against today's state (the changes above were not made): ${outcome.status}: ${outcome.summary}`
        : outcome.summary,
      ...(changedEarlier ? { informational: true } : {}),
      ...(outcome.warnings?.length ? { warnings: outcome.warnings } : {}),
      ...(outcome.evidence ? { evidence: outcome.evidence } : {}),
    };
  }
  let blastRadius: string[] = [];
  if (step.confirm && action.reconcile && !changedEarlier) {
    const now = await guard(() => action.reconcile!(step.params, ctx));
    if (!('failed' in now) && now.done)
      return { ...base, status: 'planned', summary: `nothing to change: ${now.summary}; a real run would not ask`, noop: true };
  }
  if (action.blastRadius) {
    const read = await guard(() => action.blastRadius!(step.params, ctx));
    blastRadius = 'failed' in read ? [`could not read the current state: ${read.failed}`] : read;
  }
  const summary =
    step.rehearsal === 'cannot-simulate'
      ? 'CANNOT BE SIMULATED: a real run needs the operator to do this by hand'
      : `would ${base.operations.length === 1 ? 'do 1 operation' : `do ${base.operations.length} operations`}; nothing was changed`;
  return { ...base, status: 'planned', summary, blast_radius: blastRadius };
}

type MutableFacts = {
  startedAt: Date;
  budgetMs: number;
  /** Stages whose changes the operator confirmed, once for all of them. */
  confirmedStages: Set<string>;
  who: { operator: string; reason: string | null };
  lastChangeAt: Date | undefined;
  settleMs: number;
  observed: Map<string, unknown>;
  observations: Observation[];
};

function contextFor(plan: Plan, step: PlannedStep, services: ExecuteServices, facts: MutableFacts): ActionContext {
  return {
    target: services.target,
    info: plan.info,
    run: facts,
    signal: services.interruption.signal,
    ask: services.asker
      ? async (question, details, choices) => {
          services.progress.pause();
          const answer = await services.asker!.choose(question, details, choices);
          // Ctrl-C (or the end of input) at a question stops the run, as at a confirmation.
          if (answer === 'interrupt') services.interruption.request();
          return answer;
        }
      : undefined,
    observe: (name, data) => {
      if (!facts.observed.has(name)) facts.observed.set(name, data);
      facts.observations.push({ step: step.id, name, data });
      services.journal?.append({ type: 'step.observed', step: step.id, name, data });
    },
    progress: (text, trend) => services.progress.stepDetail(step, text, trend),
  };
}

async function outcomeOf(action: ActionDefinition<unknown>, step: PlannedStep, ctx: ActionContext): Promise<StepOutcome> {
  try {
    return await action.run(step.params, ctx);
  } catch (error) {
    return { status: 'failed', summary: describeError(error) };
  }
}

async function guard<T>(work: () => Promise<T>): Promise<T | { failed: string }> {
  try {
    return await work();
  } catch (error) {
    return { failed: describeError(error) };
  }
}

function describeError(error: unknown): string {
  const remedy = (error as { remedy?: string }).remedy;
  return remedy ? `${messageOf(error)} (${remedy})` : messageOf(error);
}

function failedBeforeActing(step: PlannedStep, summary: string, services: ExecuteServices): StepReport {
  services.journal?.append({ type: 'step.finished', step: step.id, status: 'failed', summary, duration_ms: 0 });
  return { ...reportBase(step), status: 'failed', summary };
}

function reportBase(step: PlannedStep): StepReport {
  return {
    id: step.id,
    title: step.title,
    action: step.action,
    rehearsal: step.rehearsal,
    status: 'not-run',
    duration_ms: 0,
    summary: '',
    operations: step.operations.map((op) => op.text),
  };
}

/** Whether a changing step after `step` started or finished in an earlier attempt. */
function laterChangeRan(plan: Plan, step: PlannedStep): boolean {
  return plan.steps.some((later) => later.index > step.index && later.confirm && later.resume !== 'run');
}

/** Every change the stage of `step` still has to make, from this step on, named by step. */
function stageOperations(plan: Plan, step: PlannedStep): string[] {
  return plan.steps
    .filter((s) => s.stage?.id === step.stage?.id && s.index >= step.index && s.confirm && s.resume !== 'done' && !s.leftOut)
    .flatMap((s) => s.operations.map((op) => `${s.id}: ${op.text}`));
}

function notRun(step: PlannedStep): StepReport {
  return { ...reportBase(step), summary: 'not run' };
}

/** A step this run does not need: left out by its parameters, or made unnecessary by an earlier step. */
function notNeeded(step: PlannedStep, summary: string): StepReport {
  return { ...reportBase(step), status: 'skipped', summary };
}

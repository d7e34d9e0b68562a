import type { Operation, Rehearsal, TargetInfo } from '../actions/action.js';
import { actionNamed } from '../actions/index.js';
import { usageError } from '../errors.js';
import { runbookForTarget } from '../runbook/engine-twins.js';
import { loadRunbook, type Runbook } from '../runbook/load.js';
import { inputValueSchemas, REFERENCE, RUNBOOK_STEP, runbookStepParams } from '../runbook/schema.js';

/** What an earlier attempt of the same run did with a step, read from its journal. */
export type StepHistory = 'finished' | 'ended-run' | 'started' | 'failed' | 'declined';

export interface PlannedStep {
  index: number;
  id: string;
  title: string;
  description: string | undefined;
  action: string;
  rehearsal: Rehearsal;
  confirm: boolean;
  /** The operator may decline it and the run goes on; declining any other changing step ends the run. */
  optional: boolean;
  params: unknown;
  operations: Operation[];
  /** run: do it; done: finished in an earlier attempt; recheck: started earlier, outcome unknown. */
  resume: 'run' | 'done' | 'recheck';
  /** Finished in an earlier attempt and decided that the steps after it were not needed. */
  endedRun: boolean;
  /** Why the step has nothing to do in this run (it is reported, never run). */
  leftOut: string | undefined;
  /** The stage (a runbook run as a step of this one) the step belongs to: its changes are confirmed once. */
  stage: { id: string; title: string } | undefined;
}

export interface Plan {
  runId: string;
  runbook: Pick<Runbook, 'id' | 'title' | 'file' | 'hash' | 'budgetMs' | 'use_case' | 'impact' | 'scenario'>;
  inputs: Record<string, unknown>;
  info: TargetInfo;
  dryRun: boolean;
  steps: PlannedStep[];
}

/** Given inputs, checked against the runbook's declarations, with defaults filled in. */
export function resolveInputs(runbook: Runbook, given: Record<string, unknown>): Record<string, unknown> {
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(runbook.inputs, name)) {
      const declared = Object.keys(runbook.inputs);
      throw usageError(
        'input-unknown',
        `runbook ${runbook.id} has no input "${name}"`,
        declared.length ? `its inputs: ${declared.join(', ')}` : 'it takes no inputs',
      );
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(runbook.inputs)) {
    const value = Object.hasOwn(given, name) ? given[name] : spec.default;
    if (value === undefined)
      throw usageError('input-missing', `runbook ${runbook.id} needs input "${name}" (${spec.type})`, `pass --input ${name}=VALUE`);
    const result = inputValueSchemas[spec.type].safeParse(value);
    if (!result.success) {
      throw usageError(
        'input-invalid',
        `input "${name}" must be ${spec.type}: ${result.error.issues[0]?.message}`,
        `got ${JSON.stringify(value)}`,
      );
    }
    // Keep the value as given ("5m", not 300000): the action's own schema parses it, once.
    resolved[name] = value;
  }
  return resolved;
}

export interface PlanRequest {
  runbook: Runbook;
  inputs: Record<string, unknown>;
  info: TargetInfo;
  dryRun: boolean;
  runId: string;
  history?: ReadonlyMap<string, StepHistory>;
}

/** Runbook + inputs (+ what an earlier attempt did) → an ordered list of fully resolved steps. */
export function buildPlan(request: PlanRequest): Plan {
  const { runbook, info, dryRun, runId, history } = request;
  const inputs = resolveInputs(runbook, request.inputs);
  const steps = planSteps(runbook, inputs, info, history, { prefix: '', titlePrefix: '', stage: undefined, chain: [runbook.id] }).map(
    (step, index) => ({ ...step, index }),
  );
  const { id, title, file, hash, budgetMs, use_case, impact, scenario } = runbook;
  return { runId, runbook: { id, title, file, hash, budgetMs, use_case, impact, scenario }, inputs, info, dryRun, steps };
}

/** Where a stage's steps sit: their id and title prefixes, the stage, and the runbooks above them. */
interface Within {
  prefix: string;
  titlePrefix: string;
  stage: PlannedStep['stage'];
  chain: string[];
}

/** A runbook nested this deep is a mistake, not a procedure. */
const MAX_DEPTH = 3;

function planSteps(
  runbook: Runbook,
  inputs: Record<string, unknown>,
  info: TargetInfo,
  history: ReadonlyMap<string, StepHistory> | undefined,
  within: Within,
): Omit<PlannedStep, 'index'>[] {
  return runbook.steps.flatMap((step): Omit<PlannedStep, 'index'>[] => {
    const id = `${within.prefix}${step.id}`;
    if (step.action === RUNBOOK_STEP) {
      const { runbook: named, inputs: given } = runbookStepParams.parse(step.with ?? {});
      const childId = runbookForTarget(named, info.database);
      if (within.chain.includes(childId))
        throw usageError(
          'runbook-cycle',
          `step ${id} runs runbook ${childId}, which is already running above it (${within.chain.join(' → ')})`,
        );
      if (within.chain.length > MAX_DEPTH) throw usageError('runbook-depth', `step ${id}: runbooks nest at most ${MAX_DEPTH} deep`);
      const child = loadRunbook(childId);
      const childInputs = Object.fromEntries(
        Object.entries(given).flatMap(([key, value]) => {
          const resolved = substitute(value, inputs);
          return resolved === undefined ? [] : [[key, resolved]];
        }),
      );
      return planSteps(child, resolveInputs(child, childInputs), info, history, {
        prefix: `${id}.`,
        titlePrefix: `${within.titlePrefix}${step.title}: `,
        stage: within.stage ?? { id, title: step.title },
        chain: [...within.chain, childId],
      });
    }
    const action = actionNamed(step.action);
    const raw = Object.fromEntries(Object.entries(step.with ?? {}).map(([key, value]) => [key, substitute(value, inputs)]));
    const parsed = action.params.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw usageError(
        'input-invalid',
        `step ${id}: ${issue?.path.join('.') || 'parameters'}: ${issue?.message}`,
        `check the inputs given to runbook ${runbook.id}`,
      );
    }
    const before = history?.get(id);
    return [
      {
        id,
        title: `${within.titlePrefix}${step.title}`,
        description: step.description,
        action: step.action,
        rehearsal: action.rehearsal,
        confirm: action.confirm,
        optional: step.optional ?? false,
        params: parsed.data,
        operations: action.describe(parsed.data, info),
        resume: before === 'finished' || before === 'ended-run' ? 'done' : before === 'started' ? 'recheck' : 'run',
        endedRun: before === 'ended-run',
        leftOut: action.leftOut?.(parsed.data),
        stage: within.stage,
      },
    ];
  });
}

function substitute(value: unknown, inputs: Record<string, unknown>): unknown {
  if (typeof value !== 'string') return value;
  const ref = REFERENCE.exec(value);
  return ref ? inputs[ref[1] as string] : value;
}

/**
 * Whether executing the plan may ask before some step. A change finished in an earlier attempt
 * counts too: it is re-checked, and done again (asking first) if it was undone since.
 */
export function needsConfirmation(plan: Plan): boolean {
  return plan.steps.some((step) => step.confirm && !step.leftOut);
}

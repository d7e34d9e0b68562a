import type { z } from 'zod';
import type { AppProcessConfig } from '../config/config.js';
import type { Asker } from '../engine/confirm.js';
import type { Target, Via } from '../target/target.js';

/**
 * How a step rehearses in a dry run:
 * - probe: read-only, runs for real;
 * - print: changes something; the dry run shows exactly what it would do;
 * - cannot-simulate: neither; the dry run says so loudly.
 */
export type Rehearsal = 'probe' | 'print' | 'cannot-simulate';

/** One concrete thing a step does to the world, shown in plans, prompts and dry runs. */
export interface Operation {
  kind: 'http' | 'sql' | 'file' | 'command' | 'signal' | 'wait' | 'manual';
  text: string;
}

/** What a preview needs to know about the target: no connection, no secrets. */
export interface TargetInfo {
  via: Via;
  baseUrl: string;
  /** Every instance's base URL (the first is baseUrl). */
  instances: string[];
  database: string;
  actor: string;
  runId: string;
  stateDir: string;
  backupsDir: string;
  appDir: string;
  logsDir: string;
  /** How the app is stopped and started (target.app), when the config says. */
  app: AppProcessConfig | undefined;
  /** Where a notice to users goes (notify.users), by label: none means it is only drafted. */
  userChannels: string[];
}

export type OutcomeStatus = 'succeeded' | 'warned' | 'failed' | 'skipped';

export interface StepOutcome {
  status: OutcomeStatus;
  summary: string;
  evidence?: Record<string, unknown>;
  warnings?: string[];
  /**
   * The steps after this one are not needed, and why (a gradual rollback's window showed the app
   * recovered). The run ends here, succeeded; the rest is reported as not needed.
   */
  endsRun?: string;
}

/** What the run knows so far, for steps that judge the run (validation). */
export interface RunFacts {
  startedAt: Date;
  /** The runbook's time budget (the seed's "time to execute"). */
  budgetMs: number;
  /** When the last changing step finished. */
  lastChangeAt: Date | undefined;
  /** How long validation may wait for enough user traffic after the change (--settle). */
  settleMs: number;
  /** Facts journaled by earlier steps (such as the baseline), by name. */
  observed: ReadonlyMap<string, unknown>;
  /** Who runs it and why (--reason). */
  who: { operator: string; reason: string | null };
}

export interface ActionContext {
  target: Target;
  info: TargetInfo;
  run: RunFacts;
  /**
   * Aborted when the operator presses Ctrl-C. Only waits stop on it; HTTP calls and writes
   * finish (within their own timeouts), so that the step in flight ends in a known state.
   */
  signal: AbortSignal;
  /**
   * Asks the operator to judge (on a terminal); undefined when nobody can be asked. The answer
   * is one of the choices' words, or 'interrupt' (Ctrl-C at the question).
   */
  ask: Asker['choose'] | undefined;
  /** Journals a fact (such as the state before a change) before the step acts on it. */
  observe(name: string, data: unknown): void;
  /** A live line; `trend` (recent error rates, 0..1) is drawn as a sparkline on a terminal only. */
  progress(text: string, trend?: readonly (number | null)[]): void;
}

export interface ActionDefinition<P = unknown> {
  name: string;
  description: string;
  rehearsal: Rehearsal;
  /** Whether a real run asks the operator before this step. */
  confirm: boolean;
  params: z.ZodType<P>;
  describe(params: P, info: TargetInfo): Operation[];
  /** Who and what the step touches, read from the world now (read-only). */
  blastRadius?(params: P, ctx: ActionContext): Promise<string[]>;
  run(params: P, ctx: ActionContext): Promise<StepOutcome>;
  /**
   * Why this step has nothing to do in this run, known from its parameters alone (a gradual
   * stage beyond the stages asked for); the plan shows it as left out and it never runs.
   */
  leftOut?(params: P): string | undefined;
  /**
   * After an interruption the step may or may not have acted: look at the world and say
   * whether what it does is already true. Without it, the step simply runs again.
   */
  /**
   * Whether a resumed run re-checks this step after it finished (and does it again if the world
   * moved). False for steps that later steps undo by design (stopping the app) or whose effect
   * the app then builds on (a restored database it has written to since).
   */
  recheckWhenResumed?: boolean;
  /**
   * A read-only check that guards the changes after it runs again when a run is resumed, even if
   * it passed before: the world may have moved in between (a backup deleted, a process started).
   */
  rerunWhenResumed?: boolean;
  reconcile?(params: P, ctx: ActionContext): Promise<{ done: boolean; summary: string; evidence?: Record<string, unknown> }>;
}

export function defineAction<P>(definition: ActionDefinition<P>): ActionDefinition<P> {
  return definition;
}

import type { Rehearsal } from '../actions/action.js';

export type StepStatus =
  | 'succeeded'
  | 'warned'
  | 'failed'
  | 'skipped'
  | 'declined'
  | 'aborted'
  | 'interrupted'
  | 'planned'
  | 'not-run'
  | 'done-before';

/**
 * declined: the operator said no to a step that later steps need; nothing after it ran.
 * aborted: the operator quit at a prompt.
 */
export type RunStatus = 'succeeded' | 'failed' | 'declined' | 'aborted' | 'interrupted' | 'planned';

export interface StepReport {
  id: string;
  title: string;
  action: string;
  rehearsal: Rehearsal;
  status: StepStatus;
  duration_ms: number;
  summary: string;
  operations: string[];
  blast_radius?: string[];
  warnings?: string[];
  evidence?: Record<string, unknown>;
  /** Dry run: a probe after a changing step checks today's state, not the state after the change. */
  informational?: boolean;
  /** A changing step that found nothing to change (and did not ask). */
  noop?: boolean;
  /** This step found the steps after it not needed, and why. */
  ends_run?: string;
}

export interface RunResult {
  run_id: string;
  runbook: string;
  runbook_file: string;
  status: RunStatus;
  dry_run: boolean;
  via: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  budget_ms: number;
  within_budget: boolean;
  steps: StepReport[];
  journal: string | null;
  /** How to continue a failed or interrupted run: complete, ready to paste. */
  resume_command: string | null;
  /** How to put back what the run changed, when the tool can. */
  undo_command: string | null;
  /** What the scenario says the operator should know or do next (an app left stopped, cohorts still enabled). */
  next_steps?: string[];
}

export const FINISHED_STEP_STATUSES: readonly string[] = ['succeeded', 'warned', 'skipped'];

import { hostname } from 'node:os';
import type { Config } from '../config/config.js';
import { ExitCode, TrimpError } from '../errors.js';
import type { Target } from '../target/target.js';
import type { Confirmer } from './confirm.js';
import { executePlan } from './execute.js';
import { Interruption } from './interrupt.js';
import { Journal } from './journal.js';
import { acquireLock } from './lock.js';
import { needsConfirmation, type Plan } from './plan.js';
import type { Progress } from './progress.js';
import type { RunResult } from './result.js';
import { operatorName } from './run-id.js';

export interface RunOptions {
  plan: Plan;
  target: Target;
  config: Config;
  /** Undefined when nobody can be asked (no terminal, no --yes). */
  confirmer: Confirmer | undefined;
  progress: Progress;
  reason: string | null;
  forceUnlock: boolean;
  /** How to continue this run if it stops early; shown to the operator and in the result. */
  resumeCommand: string;
  /** Set when continuing an earlier attempt of the same run. */
  resume?: { attempt: number; observed: ReadonlyMap<string, unknown> };
}

/**
 * A run end to end: refuse what cannot be confirmed, take the lock, journal, execute, release.
 * A dry run takes no lock and writes no journal: it changes nothing, not even our own state.
 */
export async function runPlan(options: RunOptions): Promise<RunResult> {
  const { plan, config, progress } = options;
  if (!plan.dryRun && !options.confirmer && needsConfirmation(plan)) {
    throw new TrimpError('confirmation-impossible', 'this run changes the system and needs confirmation, but there is no terminal to ask', {
      exitCode: ExitCode.declined,
      remedy: 'add --yes to confirm every step, or --dry-run to see what it would do',
    });
  }
  const confirmer = options.confirmer ?? refuseAll;
  const startedAt = new Date();
  const interruption = new Interruption((message) => progress.warn(message));

  if (plan.dryRun) {
    const execution = await executePlan(plan, {
      target: options.target,
      confirmer,
      journal: undefined,
      progress,
      interruption,
      attempt: 0,
    });
    return resultOf(plan, execution, startedAt, null, null);
  }

  const operator = operatorName();
  const lock = acquireLock(
    config.stateDir,
    {
      run_id: plan.runId,
      pid: process.pid,
      host: hostname(),
      since: startedAt.toISOString(),
      reason: options.reason,
      runbook: plan.runbook.id,
    },
    { unlock: options.forceUnlock, reason: options.reason },
  );
  const journal = Journal.create(config.stateDir, plan.runId, [config.token]);
  interruption.install();
  try {
    if (lock.tookOver) journal.append({ type: 'lock.taken_over', previous: lock.tookOver, reason: options.reason ?? '' });
    if (options.resume) {
      journal.append({
        type: 'run.resumed',
        run_id: plan.runId,
        attempt: options.resume.attempt,
        operator,
        reason: options.reason,
        pid: process.pid,
      });
    } else {
      journal.append({
        type: 'run.started',
        run_id: plan.runId,
        runbook: { id: plan.runbook.id, file: plan.runbook.file, hash: plan.runbook.hash },
        operator,
        reason: options.reason,
        pid: process.pid,
        dry_run: false,
        via: plan.info.via,
        inputs: plan.inputs,
        target: {
          base_url: config.target.baseUrl,
          database: config.target.database,
          logs_dir: config.target.logsDir,
          token: config.token ?? null,
        },
        config_file: config.file ?? null,
      });
    }
    const execution = await executePlan(plan, {
      target: options.target,
      confirmer,
      journal,
      progress,
      interruption,
      attempt: options.resume?.attempt ?? 1,
      ...(options.resume ? { observed: options.resume.observed } : {}),
    });
    const durationMs = Math.round(execution.durationMs);
    if (execution.status === 'interrupted') {
      const inFlight = execution.steps.find((step) => step.status === 'interrupted')?.id ?? null;
      journal.append({ type: 'run.interrupted', step: inFlight, duration_ms: durationMs });
    } else {
      journal.append({ type: 'run.finished', status: execution.status, duration_ms: durationMs });
    }
    const resumable = execution.status === 'interrupted' || execution.status === 'failed';
    return resultOf(plan, execution, startedAt, journal.path, resumable ? options.resumeCommand : null);
  } finally {
    interruption.dispose();
    journal.close();
    lock.release();
  }
}

const refuseAll: Confirmer = {
  mode: 'assume-yes',
  confirm: async () => {
    throw new Error('internal error: a confirmation was needed but the run was not allowed to ask');
  },
};

function resultOf(
  plan: Plan,
  execution: Awaited<ReturnType<typeof executePlan>>,
  startedAt: Date,
  journal: string | null,
  resumeCommand: string | null,
): RunResult {
  const durationMs = Math.round(execution.durationMs);
  return {
    run_id: plan.runId,
    runbook: plan.runbook.id,
    runbook_file: plan.runbook.file,
    status: execution.status,
    dry_run: plan.dryRun,
    via: plan.info.via,
    started_at: startedAt.toISOString(),
    finished_at: new Date(startedAt.getTime() + durationMs).toISOString(),
    duration_ms: durationMs,
    budget_ms: plan.runbook.budgetMs,
    within_budget: durationMs <= plan.runbook.budgetMs,
    steps: execution.steps,
    journal,
    resume_command: resumeCommand,
  };
}

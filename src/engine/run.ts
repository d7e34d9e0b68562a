import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../config/config.js';
import { ExitCode, isTrimpError, TrimpError } from '../errors.js';
import type { Target } from '../target/target.js';
import type { Asker, Confirmer } from './confirm.js';
import { executePlan, type Observation } from './execute.js';
import type { Interruption } from './interrupt.js';
import { Journal, journalPath, readJournal } from './journal.js';
import type { Invocation, JournalEvent, JournaledTarget } from './journal-events.js';
import { acquireLock, type LockHandle, type LockHolder, stateLockPath, targetLockPath } from './lock.js';
import { needsConfirmation, type Plan, type PlannedStep } from './plan.js';
import type { Progress } from './progress.js';
import type { RunResult } from './result.js';
import { operatorName } from './run-id.js';

/** Who and what a run is, for those told about it as it goes (notifications). */
export interface WatchedRun {
  runId: string;
  title: string;
  scenario: string | undefined;
  impact: string;
  budgetMs: number;
  operator: string;
  reason: string | null;
  startedAt: Date;
}

/** Told about a real run as it goes: its start (with a way to journal), each step, its end. */
export interface RunWatcher {
  started(run: WatchedRun, totalSteps: number, record: (event: JournalEvent) => void): void;
  stepStarted(step: PlannedStep): void;
  stepFinished(): void;
  stopped(): void;
}

export interface RunOptions {
  plan: Plan;
  target: Target;
  config: Config;
  /** Undefined when nobody can be asked (no terminal, no --yes). */
  confirmer: Confirmer | undefined;
  /** Who judges what a step cannot decide alone (a terminal); undefined when nobody can. */
  asker?: Asker | undefined;
  progress: Progress;
  reason: string | null;
  forceUnlock: boolean;
  /** How the run was invoked: journaled, and used for every command printed about it. */
  invocation: Invocation;
  /** Let validation wait up to this long for enough user traffic after the change. */
  settleMs: number;
  /** Set when continuing an earlier attempt of the same run. */
  resume?: {
    attempt: number;
    earlier: readonly Observation[];
    lastChangeAt?: Date;
    retargeted?: { from: JournaledTarget; reason: string };
  };
  /** Ctrl-C handling, installed by the caller around the run and its report. */
  interruption: Interruption;
  /** Said on a hard stop (a second Ctrl-C): how to continue the run. */
  resumeHint?: string;
  /** Notifications, escalation, metric sampling: told when the run starts, at each step, and when it stops. */
  watchers?: RunWatcher[];
}

/** The target as it is journaled: what resume and restore act on later. */
export function journaledTargetOf(config: Config): JournaledTarget {
  return {
    base_url: config.target.baseUrl,
    ...(config.target.instances.length > 1 ? { instances: config.target.instances } : {}),
    database: config.target.database,
    app_dir: config.target.appDir,
    logs_dir: config.target.logsDir,
    token_source: config.token?.source ?? null,
    token_file: config.sources.tokenFile ?? null,
    ...(config.target.profile !== 'seed' ? { profile: config.target.profile } : {}),
  };
}

/**
 * A run end to end: refuse what cannot be confirmed, take the locks, journal, execute, release.
 * A dry run takes no lock and writes no journal: it changes nothing, not even our own state.
 * The locks are released on every way out: a normal end, an error, a second Ctrl-C.
 */
/** The run's result, and the facts it journaled (what an undo needs), without reading the journal back. */
export interface RunOutcome {
  result: RunResult;
  observations: Observation[];
}

export async function runPlan(options: RunOptions): Promise<RunOutcome> {
  const { plan, config, progress } = options;
  if (!plan.dryRun && !options.confirmer && needsConfirmation(plan)) {
    throw new TrimpError('confirmation-impossible', 'this run changes the system and needs confirmation, but there is no terminal to ask', {
      exitCode: ExitCode.declined,
      remedy: 'add --yes to confirm every step, or --dry-run to see what it would do',
    });
  }
  const confirmer = options.confirmer ?? refuseAll;
  const startedAt = new Date();
  const { interruption } = options;

  if (plan.dryRun) {
    const execution = await executePlan(plan, {
      startedAt,
      target: options.target,
      confirmer,
      asker: options.asker,
      journal: undefined,
      progress,
      interruption,
      attempt: 0,
      settleMs: options.settleMs,
      who: { operator: operatorName(), reason: options.reason },
    });
    return { result: resultOf(plan, execution, startedAt, null), observations: execution.observations };
  }

  const operator = operatorName();
  const holder: LockHolder = {
    run_id: plan.runId,
    pid: process.pid,
    host: hostname(),
    since: startedAt.toISOString(),
    reason: options.reason,
    runbook: plan.runbook.id,
    operator,
    state_dir: config.stateDir,
  };
  const locks: LockHandle[] = [];
  const releaseLocks = () => {
    for (const lock of [...locks].reverse()) lock.release();
  };
  let journal: Journal | undefined;
  let inFlight: string | null = null;
  let ended = false;
  const unregister = interruption.onHardStop(() => {
    try {
      journal?.append({ type: 'run.interrupted', step: inFlight, duration_ms: Date.now() - startedAt.getTime(), hard: true });
    } finally {
      releaseLocks();
      if (options.resumeHint) progress.warn(`Resume with: ${options.resumeHint}`);
    }
  });
  process.on('exit', releaseLocks); // the last resort: an exit by any path leaves no lock behind
  try {
    const force = { unlock: options.forceUnlock, reason: options.reason };
    // A killed attempt of this very run left the lock: resuming it is what that lock waits for.
    const clearable = (held: LockHolder) =>
      isRunOver(held)
        ? 'which had ended'
        : neverStarted(held)
          ? 'which never started (it journaled nothing)'
          : options.resume && held.run_id === plan.runId
            ? 'the run being resumed'
            : undefined;
    locks.push(
      acquireLock({ path: stateLockPath(config.stateDir), scope: `state directory ${config.stateDir}`, holder, force, clearable }),
    );
    const shared = targetLockPath(config.target);
    if (shared) locks.push(acquireLock({ path: shared, scope: `target (${shared})`, holder, force, clearable }));

    journal = options.resume ? Journal.reopen(config.stateDir, plan.runId) : Journal.create(config.stateDir, plan.runId);
    if (!options.resume) {
      const fresh = journal;
      // A run whose first event cannot be written never started: leave no empty journal behind.
      const discard = interruption.onHardStop(() => fresh.discardIfEmpty());
      try {
        fresh.append(runStartedEvent(plan, options, config, operator));
      } catch (error) {
        fresh.discardIfEmpty();
        if (isTrimpError(error) && error.code === 'journal-write')
          throw new TrimpError(
            'journal-create',
            `${error.message.replace(/; the run stopped here$/, '')}; the run did not start: nothing was changed`,
            {
              remedy: `free space in ${config.stateDir}, then run the same command again`,
            },
          );
        throw error;
      } finally {
        discard();
      }
    }
    for (const lock of locks) {
      if (lock.cleared) progress.note(lock.cleared);
      if (lock.tookOver)
        journal.append({ type: 'lock.taken_over', previous: lock.tookOver.holder ?? null, reason: options.reason ?? '', lock: lock.path });
    }
    const target = journaledTargetOf(config);
    if (options.resume) {
      if (options.resume.retargeted)
        journal.append({
          type: 'run.retargeted',
          from: options.resume.retargeted.from,
          to: target,
          reason: options.resume.retargeted.reason,
        });
      journal.append({
        type: 'run.resumed',
        run_id: plan.runId,
        attempt: options.resume.attempt,
        operator,
        reason: options.reason,
        pid: process.pid,
        target,
        invocation: options.invocation,
      });
    }
    const open = journal;
    const watchers = options.watchers ?? [];
    const watched: WatchedRun = {
      runId: plan.runId,
      title: plan.runbook.title,
      scenario: plan.runbook.scenario,
      impact: plan.runbook.impact,
      budgetMs: plan.runbook.budgetMs,
      operator,
      reason: options.reason,
      startedAt,
    };
    // After the run's end (a failed end-of-run notification) the journal is opened again to say so.
    const record = (event: JournalEvent) => {
      if (!ended) open.append(event);
      else {
        const late = Journal.reopen(config.stateDir, plan.runId);
        try {
          late.append(event);
        } finally {
          late.close();
        }
      }
    };
    for (const watcher of watchers) watcher.started(watched, plan.steps.length, record);
    const execution = await executePlan(plan, {
      startedAt,
      target: options.target,
      confirmer,
      asker: options.asker,
      journal,
      progress,
      interruption,
      attempt: options.resume?.attempt ?? 1,
      settleMs: options.settleMs,
      who: { operator, reason: options.reason },
      onStep: (step) => {
        for (const watcher of watchers) {
          if (step) watcher.stepStarted(step);
          else if (inFlight) watcher.stepFinished();
        }
        inFlight = step?.id ?? null;
      },
      ...(options.resume ? { earlier: options.resume.earlier } : {}),
      ...(options.resume?.lastChangeAt ? { lastChangeAt: options.resume.lastChangeAt } : {}),
    });
    const durationMs = Math.round(execution.durationMs);
    if (execution.status === 'interrupted') {
      const stopped = execution.steps.find((step) => step.status === 'interrupted')?.id ?? null;
      journal.append({ type: 'run.interrupted', step: stopped, duration_ms: durationMs });
    } else {
      journal.append({ type: 'run.finished', status: execution.status, duration_ms: durationMs });
    }
    return { result: resultOf(plan, execution, startedAt, journal.path), observations: execution.observations };
  } finally {
    ended = true;
    for (const watcher of options.watchers ?? []) watcher.stopped();
    unregister();
    journal?.close();
    releaseLocks();
    process.off('exit', releaseLocks);
  }
}

function runStartedEvent(plan: Plan, options: RunOptions, config: Config, operator: string): JournalEvent {
  return {
    type: 'run.started',
    run_id: plan.runId,
    runbook: { id: plan.runbook.id, file: plan.runbook.file, hash: plan.runbook.hash },
    operator,
    reason: options.reason,
    pid: process.pid,
    dry_run: false,
    via: plan.info.via,
    inputs: plan.inputs,
    target: journaledTargetOf(config),
    config_file: config.file ?? null,
    state_dir: config.stateDir,
    invocation: options.invocation,
  };
}

/** A lock whose run journaled its end is a leftover (the process was killed after it ended). */
function isRunOver(holder: LockHolder): boolean {
  if (!holder.state_dir) return false;
  try {
    // The last run event: a late note (a notification that failed after the end) may follow it.
    const last = readJournal(journalPath(holder.state_dir, holder.run_id)).events.findLast((e) => e.type.startsWith('run.'));
    return last?.type === 'run.finished' || last?.type === 'run.interrupted';
  } catch {
    return false;
  }
}

/** A holder killed between taking the lock and journaling its start did nothing: its lock can go. */
function neverStarted(holder: LockHolder): boolean {
  if (!holder.state_dir) return false;
  const path = journalPath(holder.state_dir, holder.run_id);
  try {
    return !existsSync(path) || statSync(path).size === 0;
  } catch {
    return false;
  }
}

const refuseAll: Confirmer = {
  mode: 'assume-yes',
  confirm: async () => {
    throw new Error('internal error: a confirmation was needed but the run was not allowed to ask');
  },
};

function resultOf(plan: Plan, execution: Awaited<ReturnType<typeof executePlan>>, startedAt: Date, journal: string | null): RunResult {
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
    resume_command: null,
    undo_command: null,
  };
}

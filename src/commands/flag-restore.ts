import type { Observation } from '../engine/execute.js';
import type { RunResult } from '../engine/result.js';
import { usageError } from '../errors.js';
import { type FlagStates, USER_TYPES } from '../target/user-types.js';
import { restoreCommand } from './printed-commands.js';
import { loadRun, observationsOf } from './run-history.js';
import { type CommandResult, type RunCommandOptions, runRunbook, type UndoContext } from './run-runbook.js';
import { configForRun } from './run-target.js';

/** What `flag.set` journals before its first write: the states it found and those it will set. */
interface FlagStatesBefore {
  flag: string;
  states: FlagStates;
  targets?: FlagStates;
}

/**
 * The states to put back: for each user type any `flag.set` step of the run set, the state it
 * had before the run first touched it (the earliest observation wins, over every attempt).
 * Undefined when the run changed nothing that can be put back.
 */
export function restorableStates(observations: Observation[]): { flag: string; states: FlagStates } | undefined {
  const befores = observations.flatMap((o) => (o.name === 'flag_states_before' ? [o.data as FlagStatesBefore] : []));
  const flags = [...new Set(befores.map((o) => o.flag))];
  if (flags.length === 0) return undefined;
  if (flags.length > 1)
    throw usageError('restore-ambiguous', `the run set ${flags.length} flags (${flags.join(', ')}); restore puts back one flag`);
  const states: FlagStates = {};
  let changes = false;
  for (const before of befores) {
    // Journals of earlier versions recorded no targets: then every type read is a candidate.
    const targets = before.targets ?? before.states;
    for (const type of USER_TYPES) {
      if (targets[type] === undefined || before.states[type] === undefined || type in states) continue;
      states[type] = before.states[type];
      if (targets[type] !== before.states[type]) changes = true;
    }
  }
  return changes ? { flag: flags[0] as string, states } : undefined;
}

/** The Undo line: only for a real run that changed a flag state it can put back. */
export function flagUndo(result: RunResult, context: UndoContext): string | null {
  if (result.dry_run || !result.journal) return null;
  // The app said yes to every change and kept the flag as it was: there is nothing to put back.
  const set = result.steps.filter((s) => s.action === 'flag.set' && s.status !== 'not-run' && s.status !== 'skipped');
  if (set.length > 0 && set.every((s) => s.evidence?.acknowledged_not_applied === true)) return null;
  try {
    return restorableStates(context.observations) ? restoreCommand(result.run_id, context.invocation) : null;
  } catch {
    return null;
  }
}

/**
 * `trimp-rollback flag restore --run RUN_ID`: put back exactly the per-type states that run
 * recorded before it changed them, on the system that run acted on.
 */
export async function flagRestoreCommand(sourceRunId: string, options: RunCommandOptions): Promise<CommandResult> {
  const { loadConfig } = await import('../config/config.js');
  const source = loadRun(loadConfig(options).stateDir, sourceRunId);
  const restore = restorableStates(observationsOf(source.events));
  if (!restore) {
    throw usageError(
      'nothing-to-restore',
      `run ${sourceRunId} recorded no flag state that it changed`,
      `it set no flag, or every type already had the state it set; see trimp-rollback runs list --state-dir ${source.started.state_dir ?? loadConfig(options).stateDir}`,
    );
  }
  const choice = configForRun(source, options, `flag restore --run ${sourceRunId}`);
  for (const note of choice.notes) process.stderr.write(`note: ${note}\n`);
  process.stderr.write(`Restoring ${restore.flag} to the states recorded before run ${sourceRunId}: ${JSON.stringify(restore.states)}\n`);
  const { command } = await runRunbook({
    runbook: 'flag',
    inputs: { flag: restore.flag, states: restore.states, app: choice.via === 'db' ? 'optional' : 'required' },
    options: { ...options, via: choice.via, reason: options.reason ?? `restore flag states from run ${sourceRunId}` },
    config: choice.config,
    undo: flagUndo,
  });
  return command;
}

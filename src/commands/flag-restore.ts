import { loadConfig } from '../config/config.js';
import { journalPath, readJournal, type StampedEvent } from '../engine/journal.js';
import { usageError } from '../errors.js';
import { type FlagStates, USER_TYPES } from '../target/user-types.js';
import { runStartedOf } from './run-history.js';
import { type CommandResult, type RunCommandOptions, runRunbook } from './run-runbook.js';

/**
 * `trimp-rollback flag restore --run RUN_ID`: put back exactly the per-type states that run
 * recorded before it changed anything (its first observation, even if it was resumed).
 */
export async function flagRestoreCommand(sourceRunId: string, options: RunCommandOptions): Promise<CommandResult> {
  const config = loadConfig(options);
  const events = readJournal(journalPath(config.stateDir, sourceRunId));
  const started = runStartedOf(sourceRunId, events);
  const observed = events.find(
    (event): event is Extract<StampedEvent, { type: 'step.observed' }> =>
      event.type === 'step.observed' && event.name === 'flag_states_before',
  );
  if (!observed) throw usageError('nothing-to-restore', `run ${sourceRunId} changed no flag (it recorded no state before a change)`);
  const { flag, states: before } = observed.data as { flag: string; states: FlagStates };
  const touched = (started.inputs.states ?? {}) as FlagStates;
  const restore: FlagStates = {};
  for (const type of USER_TYPES) if (touched[type] !== undefined && before[type] !== undefined) restore[type] = before[type];
  if (Object.keys(restore).length === 0)
    throw usageError('nothing-to-restore', `run ${sourceRunId} recorded no earlier state for the types it set`);

  process.stderr.write(`Restoring ${flag} to the states recorded before run ${sourceRunId}: ${JSON.stringify(restore)}\n`);
  const { command } = await runRunbook({
    runbook: 'flag',
    inputs: { flag, states: restore, app: options.via === 'db' ? 'optional' : 'required' },
    options: { ...options, reason: options.reason ?? `restore flag states from run ${sourceRunId}` },
  });
  return command;
}

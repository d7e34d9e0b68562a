import { existsSync } from 'node:fs';
import { KEPT_DATABASE, type KeptDatabase } from '../actions/restore-source.js';
import { validateBackupId } from '../backup/backup-id.js';
import { existingDatabases } from '../backup/postgres-archive.js';
import { BackupStore } from '../backup/store.js';
import { loadConfig } from '../config/config.js';
import type { Observation } from '../engine/execute.js';
import type { RunResult } from '../engine/result.js';
import { usageError } from '../errors.js';
import { runbookForTarget } from '../runbook/engine-twins.js';
import { isPostgresUrl } from '../target/postgres.js';
import { needsAppControl } from './app-control.js';
import { databaseUndoCommand } from './printed-commands.js';
import { loadRun, observationsOf } from './run-history.js';
import { type CommandResult, type RunCommandOptions, runRunbook, type UndoContext } from './run-runbook.js';
import { configForRun, type TargetChoice } from './run-target.js';
import { appLeftStopped } from './scenario-footers.js';

export interface DatabaseOptions extends RunCommandOptions {
  backup?: string;
  latest?: boolean;
  thorough?: boolean;
}

/** `trimp-rollback database [--backup ID | --latest] [--thorough]`: Scenario 3 of the seed. */
export async function databaseCommand(options: DatabaseOptions): Promise<CommandResult> {
  if (options.backup !== undefined && options.latest) throw usageError('database-usage', 'give --backup ID or --latest, not both');
  if (options.via === 'db')
    throw usageError('database-usage', '--via does not apply to the database rollback: it always works on the database file');
  const backup = options.backup !== undefined ? validateBackupId(options.backup) : options.latest ? 'latest' : 'newest-verified';
  const config = loadConfig(options);
  // A named backup that is not there is bad input, said before any plan is shown.
  if (options.backup !== undefined) new BackupStore(config.backupsDir).get(backup);
  if (!options.dryRun) needsAppControl(config, 'database');
  const { command } = await runRunbook({
    // PostgreSQL: restored into a new database while the app runs, then swapped in by name.
    runbook: runbookForTarget('database', config.target.database),
    inputs: { backup, thorough: options.thorough ?? false },
    options,
    config,
    undo: databaseUndo,
    footer: appLeftStopped,
  });
  return command;
}

/** The kept database a run recorded (the first one: what was there before the run changed anything). */
export function keptDatabaseOf(observations: Observation[]): KeptDatabase | undefined {
  return observations.find((o) => o.name === KEPT_DATABASE)?.data as KeptDatabase | undefined;
}

/**
 * The Undo line: for a real run that kept the database aside, when that copy is sound. It also
 * serves a run that stopped halfway: putting the kept database back restarts the app on it.
 */
export function databaseUndo(result: RunResult, context: UndoContext): string | null {
  if (result.dry_run || !result.journal) return null;
  const kept = keptDatabaseOf(context.observations);
  // A kept file that is itself damaged is not an undo: no Undo line that could only fail.
  return kept && (kept.quick_check ?? 'ok') === 'ok' ? databaseUndoCommand(result.run_id, context.invocation) : null;
}

/** `trimp-rollback database undo --run RUN_ID`: put back the database that run kept aside, the same safe way. */
export async function undoDatabaseRollback(sourceRunId: string, options: DatabaseOptions): Promise<CommandResult> {
  const source = loadRun(loadConfig(options).stateDir, sourceRunId);
  const kept = keptDatabaseOf(observationsOf(source.events));
  if (!kept)
    throw usageError(
      'nothing-to-undo',
      `run ${sourceRunId} kept no database aside`,
      'only a database rollback that got past its keep-current step can be undone',
    );
  const choice = configForRun(source, options, `database undo --run ${sourceRunId}`);
  if (isPostgresUrl(kept.database)) return undoPostgres(sourceRunId, kept, choice, options);
  if (!existsSync(kept.path))
    throw usageError(
      'nothing-to-undo',
      `the database run ${sourceRunId} kept is gone: ${kept.path}`,
      'restore a backup instead: trimp-rollback database --backup ID',
    );
  if (kept.quick_check !== undefined && kept.quick_check !== 'ok')
    throw usageError(
      'nothing-to-undo',
      `the database run ${sourceRunId} kept aside is damaged (${kept.quick_check.slice(0, 160)}): putting it back would bring the damage back`,
      `to recover rows from it, open a copy with sqlite3 (.recover): ${kept.path}`,
    );
  if (!options.dryRun) needsAppControl(choice.config, 'database');
  for (const note of choice.notes) process.stderr.write(`note: ${note}\n`);
  process.stderr.write(`Putting back the database run ${sourceRunId} kept aside: ${kept.path}\n`);
  const keptAt = source.events.find((e) => e.type === 'step.observed' && e.name === KEPT_DATABASE)?.ts ?? source.started.ts;
  const { command } = await runRunbook({
    runbook: 'database-undo',
    inputs: { file: kept.path, sha256: kept.sha256 ?? '', kept_at: keptAt, thorough: options.thorough ?? false },
    options: { ...options, via: 'api', reason: options.reason ?? `undo database rollback ${sourceRunId}` },
    config: choice.config,
    undo: databaseUndo,
    footer: appLeftStopped,
  });
  return command;
}

/** PostgreSQL: the database the run kept on the server is swapped back in by name. */
async function undoPostgres(
  sourceRunId: string,
  kept: KeptDatabase,
  choice: TargetChoice,
  options: DatabaseOptions,
): Promise<CommandResult> {
  const server = { url: choice.config.target.database, password: choice.config.target.databasePassword };
  if ((await existingDatabases(server, [kept.path])).length === 0)
    throw usageError(
      'nothing-to-undo',
      `the database run ${sourceRunId} kept is gone from the server: ${kept.path}`,
      'restore a backup instead: trimp-rollback database --backup ID',
    );
  if (!options.dryRun) needsAppControl(choice.config, 'database');
  for (const note of choice.notes) process.stderr.write(`note: ${note}\n`);
  process.stderr.write(
    `Putting back the database run ${sourceRunId} kept on the server: ${kept.path}. It holds what the app's database held before that run, whatever that run restored away included; what was written since is set aside with the database it replaces (kept on the server in turn)\n`,
  );
  const { command } = await runRunbook({
    runbook: 'database-undo-postgres',
    inputs: { kept: kept.path },
    options: { ...options, via: 'api', reason: options.reason ?? `undo database rollback ${sourceRunId}` },
    config: choice.config,
    undo: databaseUndo,
    footer: appLeftStopped,
  });
  return command;
}

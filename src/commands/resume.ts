import { loadConfig } from '../config/config.js';
import { journalPath, listRunIds, readJournal } from '../engine/journal.js';
import { usageError } from '../errors.js';
import { lintRunbookFile } from '../runbook/load.js';
import { undoHint } from './flag.js';
import { attemptsOf, finalStatus, observedFacts, runStartedOf, stepHistory } from './run-history.js';
import { type CommandResult, type RunCommandOptions, runRunbook } from './run-runbook.js';

/**
 * `trimp-rollback resume [run_id]`: continue an interrupted or failed run. Finished steps are
 * not repeated; a step that started and never ended is re-checked against the world.
 */
export async function resumeCommand(runIdArg: string | undefined, options: RunCommandOptions): Promise<CommandResult> {
  const config = loadConfig(options);
  const runId = runIdArg ?? newestUnfinished(config.stateDir);
  const events = readJournal(journalPath(config.stateDir, runId));
  const started = runStartedOf(runId, events);
  const status = finalStatus(events);
  if (status === 'succeeded') throw usageError('run-finished', `run ${runId} already succeeded; there is nothing to resume`);

  const current = lintRunbookFile(started.runbook.file);
  if (!current.ok || current.runbook.hash !== started.runbook.hash) {
    throw usageError(
      'runbook-changed',
      `runbook ${started.runbook.file} changed since run ${runId} started`,
      'resuming would run different steps; start a new run instead',
    );
  }
  const { command } = await runRunbook({
    runbook: started.runbook.file,
    inputs: started.inputs,
    options: {
      ...options,
      via: started.via === 'db' ? 'db' : 'api',
      ...(options.config || !started.config_file ? {} : { config: started.config_file }),
    },
    resume: { runId, attempt: attemptsOf(events) + 1, history: stepHistory(events), observed: observedFacts(events) },
    footer: undoHint,
  });
  return command;
}

function newestUnfinished(stateDir: string): string {
  const ids = listRunIds(stateDir).reverse();
  for (const id of ids) {
    if (finalStatus(readJournal(journalPath(stateDir, id))) !== 'succeeded') return id;
  }
  throw usageError('nothing-to-resume', `no interrupted or failed run in ${stateDir}`, 'name a run: trimp-rollback resume RUN_ID');
}

import { loadConfig } from '../config/config.js';
import { runIdTime } from '../engine/run-id.js';
import { usageError } from '../errors.js';
import { lintRunbookFile } from '../runbook/load.js';
import {
  changedSomething,
  lastChangeAt,
  loadRun,
  loadRuns,
  observationsOf,
  RESUMABLE,
  type RunRecord,
  sameTarget,
  startedAt,
  stepHistory,
} from './run-history.js';
import { type CommandResult, type RunCommandOptions, runRunbook } from './run-runbook.js';
import { configForRun } from './run-target.js';
import { scenarioReporting } from './scenario-reporting.js';

/**
 * `trimp-rollback resume [run_id]`: continue an interrupted or failed run, on the system that
 * run acted on. Finished steps are not repeated; a step that started and never ended is
 * re-checked against the world.
 */
export async function resumeCommand(runIdArg: string | undefined, options: RunCommandOptions): Promise<CommandResult> {
  const stateDir = loadConfig(options).stateDir;
  const run = runIdArg !== undefined ? loadRun(stateDir, runIdArg) : pickRunToResume(stateDir);
  if (run.status === 'succeeded') throw usageError('run-finished', `run ${run.id} already succeeded; there is nothing to resume`);
  if (run.status === 'running')
    throw usageError('run-running', `run ${run.id} is running now (its process is alive)`, 'wait for it, or stop it first');
  if (!RESUMABLE.includes(run.status)) {
    throw usageError(
      'run-final',
      `run ${run.id} ended as ${run.status} by the operator's choice; it is not resumed`,
      'start a new run instead',
    );
  }

  const current = lintRunbookFile(run.started.runbook.file);
  if (!current.ok || current.runbook.hash !== run.started.runbook.hash) {
    throw usageError(
      'runbook-changed',
      `runbook ${run.started.runbook.file} changed since run ${run.id} started`,
      'resuming would run different steps; start a new run instead',
    );
  }
  const choice = configForRun(run, options, `resume ${run.id}`);
  for (const note of choice.notes) process.stderr.write(`note: ${note}\n`);
  // Through the database the app may be down: runbooks that say whether they need it (the flag
  // runbook's `app` input) are told it is optional, as `flag --via db` tells them.
  const inputs = choice.via === 'db' && 'app' in run.started.inputs ? { ...run.started.inputs, app: 'optional' } : run.started.inputs;
  const { command } = await runRunbook({
    runbook: run.started.runbook.file,
    inputs,
    options: { ...options, via: choice.via },
    config: choice.config,
    resume: {
      runId: run.id,
      attempt: run.attempts + 1,
      history: stepHistory(run.events),
      observations: observationsOf(run.events),
      lastChangeAt: lastChangeAt(run.events),
      ...(choice.retargeted ? { retargeted: choice.retargeted } : {}),
    },
    // Every scenario's own Undo line and notes, exactly as a fresh run of it prints them.
    ...(await scenarioReporting(run.started.runbook.id, choice.config, inputs)),
  });
  return command;
}

/**
 * With no id: the newest run that stopped before its end. Refused when a later run acted on the
 * same system: resuming the older one would undo what the later one did.
 */
function pickRunToResume(stateDir: string): RunRecord {
  const { runs, damaged } = loadRuns(stateDir);
  const candidates = runs.filter((run) => RESUMABLE.includes(run.status));
  const newest = candidates.at(-1);
  // A run whose journal cannot be read may have changed the system after the candidate: then
  // nobody can tell whether resuming the candidate would undo it.
  const unreadable = damaged.filter(
    (d) => !newest || (runIdTime(d.id)?.getTime() ?? Number.POSITIVE_INFINITY) > startedAt(newest).getTime(),
  );
  if (unreadable.length > 0) {
    const first = unreadable[0] as { id: string; problem: string };
    throw usageError(
      'resume-ambiguous',
      `${newest ? `the newest unfinished run is ${newest.id}, but ` : ''}${unreadable.length === 1 ? 'a later run has' : `${unreadable.length} later runs have`} a damaged journal: ${first.problem}`,
      newest
        ? `it may have changed the system since; if you know it did not, name the run: trimp-rollback resume ${newest.id} --state-dir ${stateDir}`
        : 'nothing was resumed; inspect the journal (it is evidence)',
    );
  }
  if (!newest)
    throw usageError(
      'nothing-to-resume',
      `no interrupted or failed run in ${stateDir}`,
      `see them all: trimp-rollback runs list --state-dir ${stateDir}`,
    );
  const later = runs.filter((run) => startedAt(run) > startedAt(newest) && sameTarget(run.target, newest.target) && changedSomething(run));
  if (later.length > 0) {
    const list = [newest, ...later].map((run) => `${run.id} (${run.status})`).join(', ');
    throw usageError(
      'resume-ambiguous',
      `the newest unfinished run, ${newest.id}, was followed by ${later.length === 1 ? 'a run' : `${later.length} runs`} that changed the same system: ${list}`,
      `resuming it could undo what came after; if that is what you want, name it: trimp-rollback resume ${newest.id} --state-dir ${stateDir}`,
    );
  }
  return loadRun(stateDir, newest.id);
}

import { RELEASE_PLAN, type ReleasePlan } from '../actions/release-plan.js';
import { type Config, loadConfig } from '../config/config.js';
import type { Observation } from '../engine/execute.js';
import type { RunResult } from '../engine/result.js';
import { usageError } from '../errors.js';
import { appState } from '../target/app-process.js';
import { appCommit, resolveCommit } from '../target/app-repo.js';
import { needsAppControl } from './app-control.js';
import { applicationToCommand, applicationUndoCommand, invocationOf } from './printed-commands.js';
import { loadRun, observationsOf } from './run-history.js';
import { type CommandResult, type RunCommandOptions, runRunbook, type UndoContext } from './run-runbook.js';
import { configForRun } from './run-target.js';
import { appLeftStopped } from './scenario-footers.js';

export interface ApplicationOptions extends RunCommandOptions {
  to?: string;
  force?: boolean;
  /** Several instances: stop them all, deploy, start them all (an outage), instead of one at a time. */
  allAtOnce?: boolean;
}

/** `trimp-rollback application [--to REF] [--force]`: Scenario 2 of the seed. */
export async function applicationCommand(options: ApplicationOptions): Promise<CommandResult> {
  if (options.via === 'db') throw usageError('application-usage', '--via does not apply to the application rollback');
  const config = loadConfig(options);
  if (!options.dryRun) needsAppControl(config, 'application');
  // An unknown ref, or the release already running, is bad input: said before any plan.
  if (options.to !== undefined) await verifyTarget(config, options.to);
  const { command } = await runRunbook({
    runbook: 'application',
    inputs: { to: options.to ?? 'previous', force: options.force ?? false, rolling: !options.allAtOnce },
    options,
    config,
    undo: applicationUndo,
    footer: applicationFooter(config),
  });
  return command;
}

/** Under the summary: the way back from a release that never got healthy, and an app left stopped. */
export function applicationFooter(config: Config): (result: RunResult) => string[] {
  return (result) => [...rollForward(result, config), ...appLeftStopped(result)];
}

async function verifyTarget(config: Config, ref: string): Promise<void> {
  const target = await resolveCommit(config.target.appDir, ref);
  if (!target)
    throw usageError(
      'release-unknown',
      `unknown ref in ${config.target.appDir}: ${JSON.stringify(ref).slice(0, 200)}`,
      'give a commit, tag or branch that git log shows',
    );
  // Already there with the app running: nothing to do. With the app down, the run starts it there.
  const running = config.target.app !== undefined && appState(config.target.app).kind === 'running';
  if (running && target === (await appCommit(config.target.appDir)))
    throw usageError(
      'release-current',
      `${config.target.appDir} is already at ${ref} (${target.slice(0, 12)}): nothing to deploy`,
      'name another release with --to',
    );
}

export function releasePlanIn(observations: Observation[]): ReleasePlan | undefined {
  return observations.find((o) => o.name === RELEASE_PLAN)?.data as ReleasePlan | undefined;
}

/** Undo: back to the commit that ran before the run deployed. Only for a run that deployed. */
export function applicationUndo(result: RunResult, context: UndoContext): string | null {
  if (result.dry_run || !result.journal) return null;
  // After a deploy, back to what ran before; after a stop without one, the same command starts it there again.
  const acted = result.steps.some(
    (s) =>
      (s.action === 'release.deploy' || s.action === 'app.stop') &&
      (s.status === 'succeeded' || s.status === 'warned' || s.status === 'done-before') &&
      !s.noop,
  );
  return acted && releasePlanIn(context.observations) ? applicationUndoCommand(result.run_id, context.invocation) : null;
}

/** A release that never became healthy: said plainly, with the command back to what ran before. */
function rollForward(result: RunResult, config: Config): string[] {
  const start = result.steps.find((s) => s.action === 'app.start');
  const deployed = result.steps.some((s) => s.action === 'release.deploy' && (s.status === 'succeeded' || s.status === 'done-before'));
  if (result.dry_run || !deployed || !start || start.status !== 'failed') return [];
  const plan = (result.steps.find((s) => s.action === 'release.deploy')?.evidence ?? {}) as Partial<ReleasePlan>;
  if (!plan.from_commit) return [];
  return [
    `The release ${plan.to_commit?.slice(0, 12)} (${plan.to_version ?? '?'}) did not become healthy. Back to what ran before (${plan.from_commit.slice(0, 12)}, ${plan.from_version ?? '?'}):`,
    `  ${applicationToCommand(plan.from_commit, invocationOf(config, { yes: false }))}`,
  ];
}

/** `trimp-rollback application undo --run RUN_ID`: back to the commit that ran before that run. */
export async function undoApplicationRollback(sourceRunId: string, options: ApplicationOptions): Promise<CommandResult> {
  const source = loadRun(loadConfig(options).stateDir, sourceRunId);
  const plan = releasePlanIn(observationsOf(source.events));
  const acted = source.events.some((e) => e.type === 'step.started' && (e.action === 'release.deploy' || e.action === 'app.stop'));
  if (!plan || !acted)
    throw usageError(
      'nothing-to-undo',
      `run ${sourceRunId} changed nothing`,
      'only an application rollback that got to its stop or deploy step can be undone',
    );
  const choice = configForRun(source, options, `application undo --run ${sourceRunId}`);
  for (const note of choice.notes) process.stderr.write(`note: ${note}\n`);
  if (!options.dryRun) needsAppControl(choice.config, 'application');
  process.stderr.write(
    `Returning ${plan.app_dir} to ${plan.from_commit.slice(0, 12)} (${plan.from_version ?? '?'}), which ran before run ${sourceRunId}\n`,
  );
  const { command } = await runRunbook({
    runbook: 'application',
    inputs: { to: plan.from_commit, force: options.force ?? false, rolling: !options.allAtOnce },
    options: { ...options, via: 'api', reason: options.reason ?? `undo application rollback ${sourceRunId}` },
    config: choice.config,
    undo: applicationUndo,
    footer: applicationFooter(choice.config),
  });
  return command;
}

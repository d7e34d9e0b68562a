import { MAX_SAMPLES } from '../actions/monitor.js';
import { parseDuration } from '../config/duration.js';
import type { RunResult } from '../engine/result.js';
import { messageOf, usageError } from '../errors.js';
import { formatMs } from '../report/format.js';
import { loadRunbook } from '../runbook/load.js';
import { ENHANCED_TRIMP_FLAG, type FlagStates, USER_TYPES } from '../target/user-types.js';
import { flagUndo } from './flag-restore.js';
import { parseDurationOption, parseUserTypeList } from './options.js';
import { commandLine, targetArgs } from './printed-commands.js';
import { type CommandResult, type FooterContext, type RunCommandOptions, runRunbook } from './run-runbook.js';

export interface GradualOptions extends RunCommandOptions {
  window?: string;
  interval?: string;
  stages?: string;
  fast?: boolean;
  flag?: string;
}

/** `trimp-rollback gradual [--window 15m] [--interval 30s] [--stages regular,beta,admin] [--fast]`: Scenario 2 of the seed. */
export async function gradualCommand(options: GradualOptions): Promise<CommandResult> {
  if (options.via === 'db')
    throw usageError(
      'gradual-usage',
      "--via db does not apply: each stage's window reads the app's metrics, so the app must be up",
      'with the app down, use trimp-rollback flag --all --via db',
    );
  const inputs = gradualInputs(options);
  const overBudget = budgetShortfall(inputs);
  if (overBudget) process.stderr.write(`warning: ${overBudget}\n`);
  const { command } = await runRunbook({
    runbook: 'gradual',
    inputs,
    options,
    undo: flagUndo,
    footer: gradualFooter(String(inputs.flag)),
  });
  return command;
}

/** Said before the plan: windows that cannot fit the runbook's budget if every stage is needed. */
function budgetShortfall(inputs: Record<string, unknown>): string | undefined {
  if (inputs.fast) return undefined;
  const stages = (inputs.stages as string[]).length;
  const windowsMs = stages * parseDuration(String(inputs.window));
  const { budgetMs } = loadRunbook('gradual');
  if (windowsMs <= budgetMs) return undefined;
  return `${stages} windows of ${formatMs(parseDuration(String(inputs.window)))} (${formatMs(windowsMs)}) exceed the ${formatMs(budgetMs)} budget: the run is over budget if every stage is needed`;
}

export function gradualInputs(options: GradualOptions): Record<string, unknown> {
  const window = options.window ?? '15m';
  const interval = options.interval ?? '30s';
  const windowMs = parseDurationOption('--window', window, 2 * 3_600_000);
  const intervalMs = parseDurationOption('--interval', interval, 3_600_000);
  if (intervalMs < 100) throw usageError('option-invalid', `--interval is at least 100ms, not ${interval}`);
  if (windowMs < intervalMs) throw usageError('option-invalid', `--window (${window}) must be at least one --interval (${interval}) long`);
  if (windowMs / intervalMs > MAX_SAMPLES)
    throw usageError(
      'option-invalid',
      `--window ${window} at --interval ${interval} is ${Math.floor(windowMs / intervalMs)} samples a window; at most ${MAX_SAMPLES} samples a window`,
      'a longer --interval, or a shorter --window',
    );
  return {
    flag: options.flag ?? ENHANCED_TRIMP_FLAG,
    stages: parseUserTypeList('--stages', options.stages ?? 'regular,beta,admin'),
    window,
    interval,
    fast: options.fast ?? false,
  };
}

/**
 * Under the summary: which cohorts have the enhanced calculation now (read from the app, not
 * inferred from the steps: a run that was interrupted, or a flag changed by someone else, must
 * not be reported from memory), and how to finish the rollback for them, as a command that acts
 * on the same target. The Undo line above puts back every stage reached.
 */
export function gradualFooter(flag: string) {
  return async (result: RunResult, context: FooterContext): Promise<string[]> => {
    if (result.dry_run) return [];
    const lines: string[] = [];
    if (result.steps.some((s) => s.action === 'monitor' && s.evidence?.fast === true))
      lines.push('--fast: the monitoring windows were skipped; no figures show that any stage was enough.');
    let states: FlagStates;
    try {
      states = await context.target.flags.read(flag);
    } catch (error) {
      return [...lines, `Could not read the flag states now (${messageOf(error)}): GET /api/admin/feature-flags shows them.`];
    }
    const still = USER_TYPES.filter((type) => states[type] === true);
    if (still.length === 0) return [...lines, 'No cohort has the enhanced TRIMP calculation now.'];
    const finish = ['trimp-rollback', 'flag', '--user-type', still.join(','), ...(flag === ENHANCED_TRIMP_FLAG ? [] : ['--flag', flag])];
    return [
      ...lines,
      `Still on the enhanced TRIMP calculation: ${still.join(', ')}.`,
      `Finish the rollback for them: ${commandLine([...finish, ...targetArgs(context.invocation)])}`,
    ];
  };
}

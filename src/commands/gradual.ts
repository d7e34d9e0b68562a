import type { RunResult } from '../engine/result.js';
import { usageError } from '../errors.js';
import { ENHANCED_TRIMP_FLAG } from '../target/user-types.js';
import { flagUndo } from './flag-restore.js';
import { parseDurationOption, parseUserTypeList } from './options.js';
import { commandLine, targetArgs } from './printed-commands.js';
import { type CommandResult, type RunCommandOptions, runRunbook, type UndoContext } from './run-runbook.js';

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
  const { command } = await runRunbook({
    runbook: 'gradual',
    inputs: gradualInputs(options),
    options,
    undo: flagUndo,
    footer: gradualFooter,
  });
  return command;
}

export function gradualInputs(options: GradualOptions): Record<string, unknown> {
  const window = options.window ?? '15m';
  const interval = options.interval ?? '30s';
  const windowMs = parseDurationOption('--window', window, 2 * 3_600_000);
  const intervalMs = parseDurationOption('--interval', interval, 3_600_000);
  if (intervalMs < 100) throw usageError('option-invalid', `--interval is at least 100ms, not ${interval}`);
  if (windowMs < intervalMs) throw usageError('option-invalid', `--window (${window}) must be at least one --interval (${interval}) long`);
  return {
    flag: options.flag ?? ENHANCED_TRIMP_FLAG,
    stages: parseUserTypeList('--stages', options.stages ?? 'regular,beta,admin'),
    window,
    interval,
    fast: options.fast ?? false,
  };
}

/**
 * Under the summary: which cohorts still have the enhanced calculation, and how to finish the
 * rollback for them, as a command that acts on the same target (the Undo line above puts back
 * every stage reached).
 */
export function gradualFooter(result: RunResult, context: UndoContext): string[] {
  if (result.dry_run) return [];
  const decided = [...result.steps].reverse().find((s) => s.action === 'monitor' && s.evidence?.still_enabled);
  const still = decided?.evidence?.still_enabled as string[] | undefined;
  const lines: string[] = [];
  if (result.steps.some((s) => s.action === 'monitor' && s.evidence?.fast === true))
    lines.push('--fast: the monitoring windows were skipped; no figures show that any stage was enough.');
  if (still && still.length > 0) {
    lines.push(`Still on the enhanced TRIMP calculation: ${still.join(', ')}.`);
    const flagName = (result.steps.find((s) => s.action === 'flag.stage')?.evidence?.flag as string | undefined) ?? ENHANCED_TRIMP_FLAG;
    const finish = [
      'trimp-rollback',
      'flag',
      '--user-type',
      still.join(','),
      ...(flagName === ENHANCED_TRIMP_FLAG ? [] : ['--flag', flagName]),
    ];
    lines.push(`Finish the rollback for them: ${commandLine([...finish, ...targetArgs(context.invocation)])}`);
  } else if (still) lines.push('No cohort has the enhanced TRIMP calculation now.');
  return lines;
}

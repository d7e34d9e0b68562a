import { existsSync } from 'node:fs';
import { type ConfigFlags, loadConfig } from '../config/config.js';
import { assumeYes, type Confirmer, terminalConfirmer } from '../engine/confirm.js';
import { buildPlan, type StepHistory } from '../engine/plan.js';
import type { RunResult, RunStatus } from '../engine/result.js';
import { runPlan } from '../engine/run.js';
import { newRunId } from '../engine/run-id.js';
import { ExitCode, type ExitCodeValue, usageError } from '../errors.js';
import { renderPlan } from '../report/plan.js';
import { writeRunReport } from '../report/run-report.js';
import { renderRunSummary } from '../report/run-summary.js';
import { isInteractive, styleFor } from '../report/style.js';
import { terminalProgress } from '../report/terminal-progress.js';
import { loadRunbook } from '../runbook/load.js';
import { connectTarget, type Via } from '../target/target.js';

export interface RunCommandOptions extends ConfigFlags {
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  json?: boolean;
  color?: boolean;
  forceUnlock?: boolean;
  via?: Via;
}

/** What a command hands back to main: an exit code, or "end by SIGINT". */
export type CommandResult = { exitCode: ExitCodeValue; interrupted?: boolean };

export interface RunRequest {
  runbook: string;
  inputs: Record<string, unknown>;
  options: RunCommandOptions;
  /** Continuing an earlier attempt: its id, attempt number and what each step got to. */
  resume?: { runId: string; attempt: number; history: ReadonlyMap<string, StepHistory>; observed: ReadonlyMap<string, unknown> };
  /** Lines added under the summary, such as the undo command. */
  footer?: (result: RunResult) => string[];
  /** False when the caller reports the result itself (rehearse). */
  print?: boolean;
}

/** Load, plan, run and report one runbook. Shared by every scenario command. */
export async function runRunbook(request: RunRequest): Promise<{ result: RunResult; command: CommandResult }> {
  const { options } = request;
  const output = { json: options.json ?? false, color: options.color ?? true };
  const config = loadConfig(options);
  const runbook = loadRunbook(request.runbook);
  const via: Via = options.via ?? 'api';
  const dryRun = options.dryRun ?? false;
  const runId = request.resume?.runId ?? newRunId(runbook.id);
  const plan = buildPlan({
    runbook,
    inputs: request.inputs,
    info: { via, baseUrl: config.target.baseUrl, database: config.target.database, actor: `trimp-rollback:${runId}` },
    dryRun,
    runId,
    ...(request.resume ? { history: request.resume.history } : {}),
  });

  if (via === 'db' && !existsSync(config.target.database)) {
    throw usageError('database-missing', `database file not found: ${config.target.database}`, 'check target.database or --database');
  }
  const err = styleFor(process.stderr, output);
  process.stderr.write(renderPlan(plan, err));
  const target = connectTarget(config, via, { dryRun });
  try {
    const result = await runPlan({
      plan,
      target,
      config,
      confirmer: chooseConfirmer(options),
      progress: await terminalProgress(err, isInteractive(output)),
      reason: options.reason ?? null,
      forceUnlock: options.forceUnlock ?? false,
      resumeCommand: resumeCommandFor(runId, config.file, options.stateDir ? config.stateDir : undefined),
      ...(request.resume ? { resume: { attempt: request.resume.attempt, observed: request.resume.observed } } : {}),
    });
    const report = writeRunReport(result, [config.token]);
    const footer = [...(report ? [`Report: ${report}`] : []), ...(request.footer?.(result) ?? [])];
    if (request.print === false) {
      // The caller reports.
    } else if (output.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(renderRunSummary(result, styleFor(process.stdout, output), footer));
    return { result, command: commandResultFor(result.status) };
  } finally {
    await target.close();
  }
}

/** Decided once, before the first step: a terminal asks, --yes confirms, otherwise nobody can. */
function chooseConfirmer(options: RunCommandOptions): Confirmer | undefined {
  if (options.yes) return assumeYes;
  if (process.stdin.isTTY && process.stderr.isTTY) return terminalConfirmer(process.stdin, process.stderr);
  return undefined;
}

function resumeCommandFor(runId: string, configFile: string | undefined, stateDir: string | undefined): string {
  const parts = ['trimp-rollback', 'resume', runId];
  if (configFile) parts.push('--config', configFile);
  if (stateDir) parts.push('--state-dir', stateDir);
  return parts.join(' ');
}

export function commandResultFor(status: RunStatus): CommandResult {
  switch (status) {
    case 'succeeded':
    case 'planned':
      return { exitCode: ExitCode.ok };
    case 'failed':
      return { exitCode: ExitCode.failed };
    case 'aborted':
      return { exitCode: ExitCode.declined };
    case 'interrupted':
      return { exitCode: ExitCode.failed, interrupted: true };
  }
}

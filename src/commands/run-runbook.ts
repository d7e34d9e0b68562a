import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Config, type ConfigFlags, DEFAULT_CONFIG_NAME, loadConfig } from '../config/config.js';
import { webhookChannel } from '../config/notify-config.js';
import { redactValue } from '../config/secret.js';
import { type Asker, assumeYes, type Confirmer, terminalAsker, terminalConfirmer } from '../engine/confirm.js';
import type { Observation } from '../engine/execute.js';
import { isFile } from '../engine/files.js';
import { Interruption } from '../engine/interrupt.js';
import { journalPath, readJournal } from '../engine/journal.js';
import type { Invocation, JournaledTarget } from '../engine/journal-events.js';
import { buildPlan, type StepHistory } from '../engine/plan.js';
import type { Progress } from '../engine/progress.js';
import type { RunResult, RunStatus } from '../engine/result.js';
import { runPlan } from '../engine/run.js';
import { newRunId } from '../engine/run-id.js';
import { ExitCode, type ExitCodeValue, isTrimpError, messageOf, TrimpError, usageError } from '../errors.js';
import { metricsPath, readMetricsFile } from '../monitor/metrics-file.js';
import { MetricsSampler } from '../monitor/sampler.js';
import { RunNotifier } from '../notify/notifier.js';
import { formatMs } from '../report/format.js';
import { toJson } from '../report/output.js';
import { renderPlan } from '../report/plan.js';
import { writeRunReport } from '../report/run-report.js';
import { renderRunSummary } from '../report/run-summary.js';
import { isInteractive, styleFor } from '../report/style.js';
import { terminalProgress } from '../report/terminal-progress.js';
import { loadRunbook } from '../runbook/load.js';
import { describePostgres, isPostgresUrl } from '../target/postgres.js';
import { profileNamed } from '../target/profiles/index.js';
import { connectTarget, signInFirst, type Target, type Via } from '../target/target.js';
import { verifyPostgresTarget } from '../target/verify-database.js';
import { parseDurationOption } from './options.js';
import { invocationOf, resumeCommand } from './printed-commands.js';
import { writeRunPage } from './report.js';

export interface RunCommandOptions extends ConfigFlags {
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  json?: boolean;
  color?: boolean;
  forceUnlock?: boolean;
  via?: Via;
  settle?: string;
  retarget?: boolean;
  /** Webhooks told about this run only (--notify URL). */
  notify?: string[];
  /** Keep sampling the metrics this long after the last step. */
  observe?: string;
  /** How often the metrics are sampled beside the run ("off": never). */
  sampleEvery?: string;
}

/** What an undo needs to know: how the run was invoked, and the facts every attempt journaled. */
export interface UndoContext {
  invocation: Invocation;
  observations: Observation[];
}

/** What a footer may use: the undo's context, and the target, still connected. */
export interface FooterContext extends UndoContext {
  target: Target;
}

/** What a command hands back to main: an exit code, or "end by SIGINT". */
export type CommandResult = { exitCode: ExitCodeValue; interrupted?: boolean };

export interface RunRequest {
  runbook: string;
  inputs: Record<string, unknown>;
  options: RunCommandOptions;
  /** The config to use instead of loading one from the options (resume, restore: the run's own target). */
  config?: Config;
  /** Continuing an earlier attempt: its id, attempt number and what each step got to. */
  resume?: {
    runId: string;
    attempt: number;
    history: ReadonlyMap<string, StepHistory>;
    /** The facts earlier attempts journaled, in order. */
    observations: Observation[];
    /** When an earlier attempt last changed the system (validation judges traffic from then). */
    lastChangeAt?: Date | undefined;
    retargeted?: { from: JournaledTarget; reason: string };
  };
  /** The command that undoes this run, when the tool can undo it. */
  undo?: (result: RunResult, context: UndoContext) => string | null;
  /** Lines added under the summary (and to the report as next steps); may look at the target once more. */
  footer?: (result: RunResult, context: FooterContext) => string[] | Promise<string[]>;
  /** False when the caller reports the result itself (rehearse). */
  print?: boolean;
  /** A caller that handles Ctrl-C around the run (a game day) passes its own. */
  interruption?: Interruption;
  /** Nobody is asked to judge, even on a terminal (a game day decides by evidence alone). */
  unattended?: boolean;
  /** How fast the notification and escalation clock runs (a game day: 1/60, a minute a second). */
  clockScale?: number;
  /** False: no report.html (a game day whose directory is removed right after). */
  charts?: boolean;
}

/** Load, plan, run and report one runbook. Shared by every scenario command. */
export async function runRunbook(request: RunRequest): Promise<{ result: RunResult; command: CommandResult }> {
  const { options } = request;
  const output = { json: options.json ?? false, color: options.color ?? true };
  const config = request.config ?? loadConfig(options);
  const runbook = loadRunbook(request.runbook);
  const via: Via = options.via ?? 'api';
  const dryRun = options.dryRun ?? false;
  const settleMs = options.settle === undefined ? 0 : parseDurationOption('--settle', options.settle, 3_600_000);
  const observeMs = options.observe === undefined ? 0 : parseDurationOption('--observe', options.observe, 3_600_000);
  const sampleEveryMs = sampleInterval(options.sampleEvery);
  const runId = request.resume?.runId ?? newRunId(runbook.id);
  const plan = buildPlan({
    runbook,
    inputs: request.inputs,
    info: {
      via,
      baseUrl: config.target.baseUrl,
      instances: config.target.instances,
      database: config.target.database,
      actor: `trimp-rollback:${runId}`,
      runId,
      stateDir: config.stateDir,
      backupsDir: config.backupsDir,
      appDir: config.target.appDir,
      logsDir: config.target.logsDir,
      app: config.target.app,
      userChannels: config.notify.users.map((channel) => channel.label),
    },
    dryRun,
    runId,
    ...(request.resume ? { history: request.resume.history } : {}),
  });

  if (isPostgresUrl(config.target.database)) refuseFileOnlySteps(plan.steps, config.target.database);
  else refusePostgresSteps(plan.steps, config.target.database);
  if (via === 'db' && !isPostgresUrl(config.target.database) && !isFile(config.target.database)) {
    const what = existsSync(config.target.database) ? 'database path is not a file' : 'database file not found';
    // A mistyped URL (postgress://user:pw@…) is taken for a path: its password is not repeated.
    const shown = config.target.database.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
    throw usageError('database-missing', `${what}: ${shown}`, 'check target.database or --database (a PostgreSQL URL starts postgres://)');
  }
  refuseFlagChanges(plan.steps, config, via);
  verifyToken(config, via);
  await verifyPostgresTarget(config);
  const err = styleFor(process.stderr, output);
  const target = connectTarget(config, via, { dryRun });
  // An app with session login: a wrong password is one line, before the plan, the first step and a
  // journal. An app that is down (or whose login is broken) is no reason to stop here: the
  // application and database rollbacks exist for it, and each call that needs a session logs in.
  const loginProblem = via === 'api' ? await signInFirst(target) : undefined;
  for (const warning of config.warnings) process.stderr.write(err.yellow(`warning: ${warning}\n`));
  if (loginProblem) process.stderr.write(err.yellow(`warning: ${loginProblem}\n`));
  process.stderr.write(renderPlan(plan, err, config));
  const invocation = invocationOf(config, { via, yes: options.yes ?? false });
  // Ctrl-C (or a closing terminal) is handled from here until the summary is out: a signal that
  // arrives after the run ended must not cut the summary, the Undo line or the report.
  const interruption = request.interruption ?? new Interruption((message) => process.stderr.write(`${err.yellow(message)}\n`)).install();
  const progress = await terminalProgress(err, isInteractive(output));
  const notifier = dryRun ? undefined : notifierFor(config, options, progress, request.clockScale);
  const sampler =
    dryRun || sampleEveryMs === 0
      ? undefined
      : new MetricsSampler({
          metrics: (windowS, signal) => target.profile.metrics(target, windowS, signal),
          everyMs: sampleEveryMs,
          file: metricsPath(journalPath(config.stateDir, runId)),
          note: (text) => progress.note(text),
        });
  try {
    const outcome = await runPlan({
      plan,
      target,
      config,
      confirmer: chooseConfirmer(options),
      asker: request.unattended ? undefined : chooseAsker(),
      progress,
      watchers: [notifier, sampler].filter((watcher) => watcher !== undefined),
      reason: options.reason ?? null,
      forceUnlock: options.forceUnlock ?? false,
      invocation,
      settleMs,
      ...(request.print === false ? {} : { resumeHint: resumeCommand(runId, invocation) }),
      interruption,
      ...(request.resume
        ? {
            resume: {
              attempt: request.resume.attempt,
              earlier: request.resume.observations,
              ...(request.resume.lastChangeAt ? { lastChangeAt: request.resume.lastChangeAt } : {}),
              ...(request.resume.retargeted ? { retargeted: request.resume.retargeted } : {}),
            },
          }
        : {}),
    }).catch((error: unknown) => {
      // The run stopped because its journal could not be written: say how to continue it.
      if (isTrimpError(error) && error.code === 'journal-write')
        throw new TrimpError(error.code, error.message, {
          remedy: `free space in ${config.stateDir}, then continue: ${resumeCommand(runId, invocation)}`,
        });
      throw error;
    });
    // Redacted once, as values, before anything renders them (the summary, JSON, the report).
    const result = redactValue(outcome.result);
    const observations = outcome.observations;
    const context: UndoContext = { invocation, observations: [...(request.resume?.observations ?? []), ...observations] };
    if (!result.dry_run) {
      if (result.status === 'failed' || result.status === 'interrupted') result.resume_command = resumeCommand(result.run_id, invocation);
      result.undo_command = request.undo?.(result, context) ?? null;
    }
    const nextSteps = (await request.footer?.(result, { ...context, target })) ?? [];
    if (nextSteps.length > 0) result.next_steps = nextSteps;
    const report = writeReport(result);
    notifier?.finished(result, nextSteps, report.path);
    const footer = [...report.lines, ...nextSteps];
    if (request.print === false) {
      // The caller reports.
    } else if (output.json) process.stdout.write(`${toJson(result)}\n`);
    else process.stdout.write(renderRunSummary(result, styleFor(process.stdout, output), footer));
    // The run has ended (journaled, locks released): --observe watches the metrics a while longer.
    if (sampler && observeMs > 0 && result.status !== 'interrupted' && !interruption.requested) {
      interruption.firstStopText = 'ending the observing (the run itself has ended)';
      process.stderr.write(`Observing the metrics for ${formatMs(observeMs)} after the run (Ctrl-C ends it early)\n`);
      await sleep(observeMs, undefined, { signal: interruption.signal }).catch(() => undefined);
    }
    await sampler?.finish();
    // The page with the charts comes after the summary: drawing it (~0.5 s) never delays the result.
    const charts = report.path && request.charts !== false ? await writeCharts(result, config) : undefined;
    if (charts && request.print !== false && !output.json) process.stdout.write(`${charts}\n`);
    // The end message is on its way; it is given its bounded retries before the process ends.
    await notifier?.flush();
    return { result, command: commandResultFor(result.status) };
  } finally {
    await sampler?.finish();
    if (!request.interruption) interruption.dispose();
    await target.close();
  }
}

/** The report beside the journal; a full disk there is said, and does not undo the run. */
function writeReport(result: RunResult): { lines: string[]; path: string | undefined } {
  try {
    const path = writeRunReport(result);
    return { lines: path ? [`Report: ${path}`] : [], path };
  } catch (error) {
    // Said on stderr too, so that --json users see it; the run itself stands as journaled.
    process.stderr.write(`warning: the report was not written: ${messageOf(error)}\n`);
    return { lines: [`Report: not written (${messageOf(error)})`], path: undefined };
  }
}

/** report.html (its charts read the journal's samples): the line that says where, or why it is not there. */
async function writeCharts(result: RunResult, config: Config): Promise<string | undefined> {
  if (!result.journal) return undefined;
  try {
    const { samples } = readMetricsFile(result.journal);
    return `Charts: ${await writeRunPage(result, readJournal(result.journal).events, samples, config.thresholds)}`;
  } catch (error) {
    process.stderr.write(`warning: report.html was not written: ${messageOf(error)}\n`);
    return `Charts: not written (${messageOf(error)})`;
  }
}

/** --sample-every: a duration between 100 ms and 1 min, or "off"; 1 s when not given. */
function sampleInterval(text: string | undefined): number {
  if (text === undefined) return 1000;
  if (text.toLowerCase() === 'off') return 0;
  if (!/^\d+(\.\d+)?(ms|s|m|h)$/.test(text))
    throw usageError('option-invalid', `--sample-every must be a duration such as 1s or 5s, or off, not "${text}"`);
  const ms = parseDurationOption('--sample-every', text, 60_000);
  if (ms < 100) throw usageError('option-invalid', `--sample-every is at least 100ms, not ${text} (or off)`);
  return ms;
}

/** The config's channels and escalation levels, plus any --notify webhooks for this run. */
function notifierFor(config: Config, options: RunCommandOptions, progress: Progress, clockScale = 1): RunNotifier {
  const channels = [...config.notify.channels, ...(options.notify ?? []).map(webhookChannel)];
  return new RunNotifier({ ...config.notify, channels }, (text) => progress.warn(text), clockScale);
}

/**
 * A missing token is found before the first step, not by a 401 halfway through: the admin API
 * needs one unless the target says it has none (target.auth: none).
 */
function verifyToken(config: Config, via: Via): void {
  const login = config.target.login;
  if (via === 'api' && login && !login.password)
    throw usageError(
      'password-missing',
      `no admin password to log in to ${config.target.baseUrl} as ${login.email}: none in TRIMP_ADMIN_PASSWORD or target.login.password_file`,
      'set TRIMP_ADMIN_PASSWORD, or write it into a file (chmod 600) named by target.login.password_file',
    );
  if (via !== 'api' || login || config.target.auth === 'none' || config.token) return;
  throw usageError(
    'token-missing',
    `no admin token for ${config.target.baseUrl}: none in TRIMP_ADMIN_TOKEN, TRIMP_ADMIN_TOKEN_FILE, --token-file or target.token_file`,
    config.file
      ? 'give one of those (a file is best: --token-file FILE), or set target.auth: none if the app has no admin token'
      : `no config file was found either (none given, no ./${DEFAULT_CONFIG_NAME} here): give --config FILE, or a token with --token-file FILE`,
  );
}

/** Decided once, before the first step: a terminal asks, --yes confirms, otherwise nobody can. */
function chooseConfirmer(options: RunCommandOptions): Confirmer | undefined {
  if (options.yes) return assumeYes;
  if (process.stdin.isTTY && process.stderr.isTTY) return terminalConfirmer(process.stdin, process.stderr);
  return undefined;
}

/** A judgement (an inconclusive window) is asked on a terminal only; --yes never answers it. */
function chooseAsker(): Asker | undefined {
  return process.stdin.isTTY && process.stderr.isTTY ? terminalAsker(process.stdin, process.stderr) : undefined;
}

export function commandResultFor(status: RunStatus): CommandResult {
  switch (status) {
    case 'succeeded':
    case 'planned':
      return { exitCode: ExitCode.ok };
    case 'failed':
      return { exitCode: ExitCode.failed };
    case 'declined':
    case 'aborted':
      return { exitCode: ExitCode.declined };
    case 'interrupted':
      return { exitCode: ExitCode.failed, interrupted: true };
  }
}

/** Steps that work on the database as a file: backups, restores and their checks (SQLite only, for now). */
const FILE_DATABASE_ACTIONS = ['database.keep', 'database.restore', 'database.use-kept'];
const POSTGRES_ACTIONS = ['database.stage', 'database.swap-ready', 'database.swap'];

/** A PostgreSQL target gets a plain refusal before anything runs, never a file error halfway. */
function refuseFileOnlySteps(steps: readonly { id: string; action: string }[], database: string): void {
  const fileOnly = steps.filter((step) => FILE_DATABASE_ACTIONS.includes(step.action));
  if (fileOnly.length === 0) return;
  throw usageError(
    'engine-unsupported',
    `${describePostgres(database)} is a PostgreSQL database; steps ${fileOnly.map((s) => s.id).join(', ')} restore or keep a SQLite file`,
    'on PostgreSQL the database rollback restores into a new database and swaps names (runbook database-postgres, which `trimp-rollback database` picks)',
  );
}

/** The other way round: a SQLite file cannot be restored by renaming databases on a server. */
function refusePostgresSteps(steps: readonly { id: string; action: string }[], database: string): void {
  const serverOnly = steps.filter((step) => POSTGRES_ACTIONS.includes(step.action));
  if (serverOnly.length === 0) return;
  throw usageError(
    'engine-unsupported',
    `${database} is a SQLite file; steps ${serverOnly.map((s) => s.id).join(', ')} restore into and rename PostgreSQL databases`,
    'on SQLite the database rollback stages the file and renames it (runbook database, which `trimp-rollback database` picks)',
  );
}

/** The steps that change the flag: the flag rollback's set, and the gradual rollback's stages. */
const FLAG_WRITING_ACTIONS = ['flag.set', 'flag.stage'];

/**
 * An app whose flags cannot be changed the way the plan would (flags set in code, a placeholder
 * toggle) is refused before anything runs, with the way that works on it.
 */
function refuseFlagChanges(steps: readonly { id: string; action: string }[], config: Config, via: Via): void {
  const setting = steps.filter((step) => FLAG_WRITING_ACTIONS.includes(step.action));
  const refusal = setting.length > 0 ? profileNamed(config.target.profile).flagChangeRefusal(config.target, via) : undefined;
  if (!refusal) return;
  throw usageError(
    'flag-unsupported',
    `nothing was changed: step${setting.length > 1 ? 's' : ''} ${setting.map((s) => s.id).join(', ')} would set the flag, but ${refusal.reason}`,
    `${refusal.instead} (trimp-rollback advise says the same)`,
  );
}

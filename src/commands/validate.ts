import { RESTORED_BASELINE } from '../actions/restore-source.js';
import type { Baseline } from '../checks/baseline.js';
import { ALL_CHECKS, CHECK_NAMES, CHECKS } from '../checks/registry.js';
import { runChecks, worstStatus } from '../checks/run-checks.js';
import { loadConfig } from '../config/config.js';
import { redactValue } from '../config/secret.js';
import type { StampedEvent } from '../engine/journal.js';
import { listRunIds } from '../engine/journal.js';
import { ExitCode, fileSystemError, isTrimpError, messageOf, usageError } from '../errors.js';
import { writeGithubOutputs } from '../report/github.js';
import { renderJUnit } from '../report/junit.js';
import { toJson, writeOutputFile } from '../report/output.js';
import { styleFor } from '../report/style.js';
import { renderValidationTable } from '../report/validation-table.js';
import { connectTarget, signInFirst, type Via } from '../target/target.js';
import { verifyPostgresTarget } from '../target/verify-database.js';
import { parseDurationOption } from './options.js';
import { changedSomething, isChange, loadRun } from './run-history.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';

export interface ValidateOptions extends RunCommandOptions {
  checks?: string;
  since?: string;
  junit?: string;
}

/** `trimp-rollback validate`: the seed's post-rollback checklist, as named checks. */
export async function validateCommand(options: ValidateOptions): Promise<CommandResult> {
  const config = loadConfig(options);
  const selected = selectChecks(options.checks);
  const reference = referenceOf(config.stateDir, options.since);
  const via: Via = options.via ?? 'api';
  const settleMs = options.settle === undefined ? 0 : parseDurationOption('--settle', options.settle, 3_600_000);
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  // A PostgreSQL target the config gets wrong (a password, a database name) is one line, not one per
  // check; a server that is down is the checks' finding, not a reason to run none of them.
  await verifyPostgresTarget(config).catch((error: unknown) => {
    if (isTrimpError(error) && error.code === 'database-unreachable') process.stderr.write(`warning: ${error.message}\n`);
    else throw error;
  });
  const target = connectTarget(config, via, { dryRun: false });
  try {
    // An app with session login: a wrong or missing password is one line, not fifteen failed checks
    // (an app that is down is for the checks to find).
    const loginProblem = via === 'api' ? await signInFirst(target) : undefined;
    if (loginProblem) process.stderr.write(`warning: ${loginProblem}\n`);
    // Redacted as values before JUnit, GitHub and the table escape them in their own ways.
    const reports = redactValue(
      await runChecks(selected, {
        settleMs,
        target,
        thresholds: config.thresholds,
        since: reference.since,
        changedAt: reference.changedAt,
        baseline: reference.baseline,
        app: via === 'db' ? 'optional' : 'required',
      }),
    );
    const status = worstStatus(reports);
    if (options.junit) writeJUnit(options.junit, renderJUnit(reports));
    writeGithubOutputs(reports, process.env, process.stderr);
    if (options.json) {
      const count = (s: string) => reports.filter((r) => r.status === s).length;
      const doc = {
        status,
        since: reference.since?.toISOString() ?? null,
        reference_run: reference.runId,
        baseline: reference.baseline ?? null,
        counts: { pass: count('pass'), warn: count('warn'), fail: count('fail'), skip: count('skip') },
        checks: reports,
      };
      process.stdout.write(`${toJson(doc)}\n`);
    } else {
      const out = styleFor(process.stdout, { json: false, color: options.color ?? true });
      const header = reference.runId
        ? `Validation after run ${reference.runId} (since ${reference.since?.toISOString()})\n`
        : `Validation${reference.since ? ` since ${reference.since.toISOString()}` : ''}\n`;
      process.stdout.write(header + renderValidationTable(reports, out));
    }
    return { exitCode: status === 'fail' ? ExitCode.failed : ExitCode.ok };
  } finally {
    await target.close();
  }
}

function selectChecks(list: string | undefined) {
  if (!list) return CHECKS;
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !CHECK_NAMES.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw usageError(
      'checks-unknown',
      `unknown check ${unknown.map((n) => `"${n}"`).join(', ') || '(empty list)'}; checks: ${CHECK_NAMES.join(', ')}`,
    );
  }
  return ALL_CHECKS.filter((c) => names.includes(c.name));
}

interface Reference {
  runId: string | null;
  since: Date | undefined;
  changedAt: Date | undefined;
  baseline: Baseline | undefined;
}

/** JUnit for CI: 0644, so that the CI runner's other users (the artifact uploader) can read it. */
function writeJUnit(path: string, xml: string): void {
  try {
    writeOutputFile(path, xml, { mode: 0o644 });
  } catch (error) {
    throw fileSystemError(error, 'the JUnit file could not be written');
  }
}

/** What "since" means: a run (its start, its last change, its baseline), a time, or the newest run. */
function referenceOf(stateDir: string, since: string | undefined): Reference {
  const runs = listRunIds(stateDir);
  if (since === undefined) {
    // The newest run that changed something (newest first: only as many journals as it takes);
    // a run that was declined or changed nothing is not what validation follows. A damaged
    // journal is said, and skipped.
    let fallback: Reference | undefined;
    for (const id of [...runs].reverse()) {
      try {
        const run = loadRun(stateDir, id);
        if (changedSomething(run)) return fromRun(id, run.events);
        fallback ??= fromRun(id, run.events);
      } catch (error) {
        process.stderr.write(`note: run ${id} skipped: ${messageOf(error)}\n`);
      }
    }
    return fallback ?? { runId: null, since: undefined, changedAt: undefined, baseline: undefined };
  }
  if (runs.includes(since)) return fromRun(since, loadRun(stateDir, since).events);
  const time = new Date(since);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(since) || Number.isNaN(time.getTime())) {
    throw usageError(
      'since-invalid',
      `--since must be a run id in ${stateDir} or an ISO time such as 2026-11-28T03:00:00Z, not "${since}"`,
      `list the runs with: trimp-rollback runs list --state-dir ${stateDir}`,
    );
  }
  if (time.getTime() > Date.now()) throw usageError('since-invalid', `--since ${since} is in the future`);
  // An explicit time is the change to judge from: errors and latency count from then on.
  return { runId: null, since: time, changedAt: time, baseline: undefined };
}

function fromRun(runId: string, events: StampedEvent[]): Reference {
  const started = events.find((e) => e.type === 'run.started');
  const changing = new Set(events.flatMap((e) => (e.type === 'step.started' && isChange(e.action) ? [e.step] : [])));
  const lastChange = events
    .filter((e) => e.type === 'step.finished' && changing.has(e.step) && (e.status === 'succeeded' || e.status === 'warned'))
    .at(-1);
  // After a database rollback, "no rows lost" means: none lost since the restored backup (the run's
  // own validation judged it so); the baseline of the database it replaced would count its loss.
  const observation = (name: string) => {
    const found = events.find((e) => e.type === 'step.observed' && e.name === name);
    return found?.type === 'step.observed' && isBaseline(found.data) ? found.data : undefined;
  };
  const baseline = observation(RESTORED_BASELINE) ?? observation('baseline');
  return {
    runId,
    since: started ? new Date(started.ts) : undefined,
    changedAt: lastChange ? new Date(lastChange.ts) : undefined,
    baseline,
  };
}

/** A journaled baseline, checked: a damaged or foreign one is no baseline. */
function isBaseline(data: unknown): data is Baseline {
  const b = data as Partial<Baseline> | undefined;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.recorded_at === 'string' &&
    typeof b.schema_hash === 'string' &&
    typeof b.row_counts === 'object' &&
    b.row_counts !== null &&
    Object.values(b.row_counts).every((n) => typeof n === 'number')
  );
}

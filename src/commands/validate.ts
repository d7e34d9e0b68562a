import { writeFileSync } from 'node:fs';
import { actionNamed } from '../actions/index.js';
import type { Baseline } from '../checks/baseline.js';
import { CHECK_NAMES, CHECKS } from '../checks/registry.js';
import { runChecks, worstStatus } from '../checks/run-checks.js';
import { loadConfig } from '../config/config.js';
import { journalPath, listRunIds, readJournal, type StampedEvent } from '../engine/journal.js';
import { ExitCode, usageError } from '../errors.js';
import { writeGithubOutputs } from '../report/github.js';
import { renderJUnit } from '../report/junit.js';
import { styleFor } from '../report/style.js';
import { renderValidationTable } from '../report/validation-table.js';
import { connectTarget, type Via } from '../target/target.js';
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
  const target = connectTarget(config, via, { dryRun: false });
  try {
    const reports = await runChecks(selected, {
      target,
      thresholds: config.thresholds,
      since: reference.since,
      changedAt: reference.changedAt,
      baseline: reference.baseline,
      app: via === 'db' ? 'optional' : 'required',
    });
    const status = worstStatus(reports);
    if (options.junit) writeFileSync(options.junit, renderJUnit(reports));
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
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
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
  return CHECKS.filter((c) => names.includes(c.name));
}

interface Reference {
  runId: string | null;
  since: Date | undefined;
  changedAt: Date | undefined;
  baseline: Baseline | undefined;
}

/** What "since" means: a run (its start, its last change, its baseline), a time, or the newest run. */
function referenceOf(stateDir: string, since: string | undefined): Reference {
  const runs = listRunIds(stateDir);
  if (since === undefined) {
    const newest = runs.at(-1);
    return newest
      ? fromRun(newest, readJournal(journalPath(stateDir, newest)))
      : { runId: null, since: undefined, changedAt: undefined, baseline: undefined };
  }
  if (runs.includes(since)) return fromRun(since, readJournal(journalPath(stateDir, since)));
  const time = new Date(since);
  if (!/^\d{4}-\d\d-\d\d/.test(since) || Number.isNaN(time.getTime())) {
    throw usageError(
      'since-invalid',
      `--since must be a run id in ${stateDir} or an ISO time such as 2026-11-28T03:00:00Z, not "${since}"`,
    );
  }
  return { runId: null, since: time, changedAt: undefined, baseline: undefined };
}

function fromRun(runId: string, events: StampedEvent[]): Reference {
  const started = events.find((e) => e.type === 'run.started');
  const changing = new Set(
    events
      .filter((e) => e.type === 'step.started' && isChange(e.action))
      .map((e) => (e as Extract<StampedEvent, { type: 'step.started' }>).step),
  );
  const lastChange = events
    .filter((e) => e.type === 'step.finished' && changing.has(e.step) && (e.status === 'succeeded' || e.status === 'warned'))
    .at(-1);
  const observed = events.filter((e) => e.type === 'step.observed' && e.name === 'baseline').at(0) as
    | Extract<StampedEvent, { type: 'step.observed' }>
    | undefined;
  const baseline = observed && !('unavailable' in (observed.data as object)) ? (observed.data as Baseline) : undefined;
  return {
    runId,
    since: started ? new Date(started.ts) : undefined,
    changedAt: lastChange ? new Date(lastChange.ts) : undefined,
    baseline,
  };
}

function isChange(action: string): boolean {
  try {
    const definition = actionNamed(action);
    return definition.confirm && definition.rehearsal === 'print';
  } catch {
    return false;
  }
}

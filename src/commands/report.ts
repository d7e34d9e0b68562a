import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Thresholds } from '../checks/check.js';
import { loadConfig } from '../config/config.js';
import type { StampedEvent } from '../engine/journal-events.js';
import type { RunResult } from '../engine/result.js';
import { messageOf, usageError } from '../errors.js';
import { type MetricsLine, readMetricsFile } from '../monitor/metrics-file.js';
import { renderRunPage } from '../report/html/run-page.js';
import { writeOutputFile } from '../report/output.js';
import { renderMarkdown } from '../report/run-report.js';
import { runTimeline } from '../report/run-timeline.js';
import { isChange, loadRun } from './run-history.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';

/** What the pages read from report.json: checked, so that a damaged file is one line, not a stack trace. */
const text = z.string().max(100_000);
const reportShape = z.looseObject({
  run_id: text,
  runbook: text,
  runbook_file: text,
  status: text,
  via: text,
  started_at: text,
  finished_at: text,
  duration_ms: z.number().nonnegative(),
  budget_ms: z.number().nonnegative(),
  resume_command: text.nullable(),
  undo_command: text.nullable(),
  next_steps: z.array(text).optional(),
  steps: z.array(
    z.looseObject({
      id: text,
      action: text,
      rehearsal: text,
      status: text,
      duration_ms: z.number().nonnegative(),
      summary: text,
      warnings: z.array(text).optional(),
      evidence: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

export interface ReportOptions extends RunCommandOptions {
  html?: boolean;
}

/** report.html beside the journal, drawn from the run's result and its journal's samples. */
export async function writeRunPage(
  result: RunResult,
  events: readonly StampedEvent[],
  samples: readonly MetricsLine[],
  thresholds: Thresholds,
): Promise<string> {
  if (!result.journal) throw new Error('a dry run has no journal and no report');
  const html = await renderRunPage({
    result,
    timeline: runTimeline(events, samples, isChange),
    limits: { errorRate: thresholds.errorRateFail, p95Ms: thresholds.latencyP95Ms },
  });
  const path = join(dirname(result.journal), 'report.html');
  writeOutputFile(path, html, { mode: 0o600 });
  return path;
}

/**
 * `trimp-rollback report RUN [--html]`: the run's report again, from its report.json and its
 * journal (after a resume, or to draw report.html of a run from before it existed). Prints
 * report.md's text, or with --html (re)writes report.html and prints its path.
 */
export async function reportCommand(runId: string, options: ReportOptions): Promise<CommandResult> {
  const config = loadConfig({ ...options, withoutToken: true });
  const run = loadRun(config.stateDir, runId);
  const dir = join(config.stateDir, 'runs', run.id);
  const resultPath = join(dir, 'report.json');
  if (!existsSync(resultPath))
    throw usageError(
      'report-missing',
      `run ${run.id} has no report.json (it has not ended, or its process was killed)`,
      `finish it first: trimp-rollback resume ${run.id}`,
    );
  let result: RunResult;
  try {
    const parsed = reportShape.safeParse(JSON.parse(readFileSync(resultPath, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${issue?.path.join('.') || 'the document'}: ${issue?.message ?? 'invalid'}`);
    }
    result = parsed.data as unknown as RunResult;
    if (result.run_id !== run.id) throw new Error(`it names run ${result.run_id}`);
  } catch (error) {
    throw usageError(
      'report-invalid',
      `${resultPath} is not this run's report (${messageOf(error)})`,
      `resume the run or run it again to write it anew`,
    );
  }
  result.journal = join(dir, 'journal.jsonl');
  if (!options.html) {
    process.stdout.write(renderMarkdown(result));
    return { exitCode: 0 };
  }
  const path = await writeRunPage(result, run.events, readMetricsFile(result.journal).samples, config.thresholds);
  process.stdout.write(`${path}\n`);
  return { exitCode: 0 };
}

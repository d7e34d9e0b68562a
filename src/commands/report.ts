import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Thresholds } from '../checks/check.js';
import { loadConfig } from '../config/config.js';
import type { StampedEvent } from '../engine/journal-events.js';
import type { RunResult } from '../engine/result.js';
import { usageError } from '../errors.js';
import { renderRunPage } from '../report/html/run-page.js';
import { writeOutputFile } from '../report/output.js';
import { renderMarkdown } from '../report/run-report.js';
import { runTimeline } from '../report/run-timeline.js';
import { isChange, loadRun } from './run-history.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';

export interface ReportOptions extends RunCommandOptions {
  html?: boolean;
}

/** report.html beside the journal, drawn from the run's result and its journal's samples. */
export async function writeRunPage(result: RunResult, events: readonly StampedEvent[], thresholds: Thresholds): Promise<string> {
  if (!result.journal) throw new Error('a dry run has no journal and no report');
  const html = await renderRunPage({
    result,
    timeline: runTimeline(events, isChange),
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
    result = JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult;
    if (result.run_id !== run.id || !Array.isArray(result.steps)) throw new Error('not this run');
  } catch {
    throw usageError('report-invalid', `${resultPath} is not this run's report`, `re-run or resume the run to write it again`);
  }
  result.journal = join(dir, 'journal.jsonl');
  if (!options.html) {
    process.stdout.write(renderMarkdown(result));
    return { exitCode: 0 };
  }
  const path = await writeRunPage(result, run.events, config.thresholds);
  process.stdout.write(`${path}\n`);
  return { exitCode: 0 };
}

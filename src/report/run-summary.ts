import type { ChalkInstance } from 'chalk';
import type { RunResult } from '../engine/result.js';
import { againstBudget, formatMs, statusMark } from './format.js';

/** The result of a run, for stdout: what happened, against the budget, and what to do next. */
export function renderRunSummary(result: RunResult, c: ChalkInstance, extra: string[] = []): string {
  const lines: string[] = [];
  const title = result.dry_run ? 'Dry run (nothing was changed)' : 'Run';
  lines.push(`${c.bold(title)} ${result.run_id} — runbook ${result.runbook} via ${result.via}: ${statusWord(result, c)}`);
  const idWidth = result.steps.reduce((width, step) => Math.max(width, step.id.length), 4);
  // The rehearsal kind (probe / print / cannot-simulate) only means something in a dry run.
  const kind = (text: string) => (result.dry_run ? `${text.padEnd(15)} ` : '');
  lines.push(c.dim(`    ${'step'.padEnd(idWidth)}  ${kind('dry run')}${'status'.padEnd(11)} ${'time'.padStart(8)}  result`));
  for (const step of result.steps) {
    const duration = step.duration_ms ? formatMs(step.duration_ms) : '';
    lines.push(
      `  ${statusMark(step.status, c)} ${step.id.padEnd(idWidth)}  ${kind(step.rehearsal)}${step.status.padEnd(11)} ${duration.padStart(8)}  ${step.summary}`,
    );
    if (result.dry_run && step.rehearsal !== 'probe') {
      for (const op of step.operations) lines.push(c.cyan(`      would: ${op}`));
      for (const line of step.blast_radius ?? []) lines.push(`      ${line}`);
    }
    for (const warning of step.warnings ?? []) lines.push(c.yellow(`      warning: ${warning}`));
  }
  lines.push(`Time: ${againstBudget(result.duration_ms, result.budget_ms)}`);
  if (result.journal) lines.push(`Journal: ${result.journal}`);
  if (result.resume_command) lines.push(c.yellow(`Resume with: ${result.resume_command}`));
  if (result.undo_command) lines.push(`Undo: ${result.undo_command}`);
  lines.push(...extra);
  return `${lines.join('\n')}\n`;
}

function statusWord(result: RunResult, c: ChalkInstance): string {
  const word = result.status.toUpperCase();
  if (result.status === 'succeeded' || result.status === 'planned') return c.green(word);
  if (result.status === 'failed') return c.red(word);
  return c.yellow(word);
}

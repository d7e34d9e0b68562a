import type { ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { PlannedStep } from '../engine/plan.js';
import type { Progress } from '../engine/progress.js';
import type { StepReport } from '../engine/result.js';
import { againstBudget, formatMs, statusMark } from './format.js';
import { sparkline } from './sparkline.js';

/**
 * Progress on stderr. On a terminal a spinner shows the step in flight; elsewhere each step is
 * a plain line. ora is only loaded when a spinner can be shown.
 */
export async function terminalProgress(c: ChalkInstance, spinners: boolean, out: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  const createSpinner = spinners ? (await import('ora')).default : undefined;
  let spinner: Ora | undefined;
  const stop = () => {
    spinner?.stop();
    spinner = undefined;
  };
  const line = (text: string) => {
    stop();
    out.write(`${text}\n`);
  };
  return {
    stepStarted(step: PlannedStep) {
      const text = `${step.id}: ${step.title}`;
      if (createSpinner) spinner = createSpinner({ text, stream: out }).start();
      else line(c.dim(`→ ${text}`));
    },
    stepDetail(step, text, trend) {
      if (spinner) spinner.text = `${step.id}: ${text}${trend?.length ? ` ${c.red(sparkline(trend))}` : ''}`;
      else line(c.dim(`  ${step.id}: ${text}`));
    },
    stepFinished(report: StepReport, elapsedMs: number, budgetMs: number) {
      const duration = report.status === 'planned' || report.status === 'done-before' ? '' : ` ${formatMs(report.duration_ms)}`;
      line(
        `${statusMark(report.status, c)} ${c.bold(report.id)} ${report.status}${duration} ${c.dim(`[${againstBudget(elapsedMs, budgetMs)}]`)}`,
      );
      if (report.summary) line(`    ${report.summary}`);
      for (const warning of report.warnings ?? []) line(c.yellow(`    warning: ${warning}`));
    },
    note(text) {
      line(text);
    },
    warn(text) {
      line(c.yellow(text));
    },
    pause: stop,
  };
}

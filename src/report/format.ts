import type { ChalkInstance } from 'chalk';
import type { StepStatus } from '../engine/result.js';

/** 1.5 MiB, 2.03 GiB. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/** "0.42 s of the 5 min budget (0.1%)" */
export function againstBudget(elapsedMs: number, budgetMs: number): string {
  const share = (elapsedMs / budgetMs) * 100;
  const pct = share < 1 ? share.toFixed(2) : share.toFixed(0);
  return `${formatMs(elapsedMs)} of the ${formatMs(budgetMs)} budget (${pct}%)${elapsedMs > budgetMs ? ' — OVER BUDGET' : ''}`;
}

const MARKS: Record<StepStatus, string> = {
  succeeded: '✓',
  warned: '!',
  failed: '✗',
  skipped: '-',
  declined: '-',
  aborted: '■',
  interrupted: '⏸',
  planned: '○',
  'not-run': '·',
  'done-before': '✓',
};

export function statusMark(status: StepStatus, c: ChalkInstance): string {
  const mark = MARKS[status];
  if (status === 'succeeded' || status === 'done-before') return c.green(mark);
  if (status === 'failed') return c.red(mark);
  if (status === 'warned' || status === 'interrupted' || status === 'declined' || status === 'aborted') return c.yellow(mark);
  return c.dim(mark);
}

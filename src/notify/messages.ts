import type { RunResult } from '../engine/result.js';
import type { WatchedRun } from '../engine/run.js';
import { againstBudget, formatMs } from '../report/format.js';

/** One notification: a title (the e-mail subject, the chat message's first line) and its text. */
export interface Message {
  kind: 'start' | 'progress' | 'escalation' | 'end' | 'user-notice';
  title: string;
  text: string;
  /** Structured fields sent beside the text to a webhook (a user notice, for an app's in-app banner). */
  data?: Record<string, unknown>;
}

/** What every message about a run says who and what it is about. */
export type RunFacts = WatchedRun;

const lines = (...parts: (string | false | null | undefined)[]) => parts.filter(Boolean).join('\n');

export function startMessage(run: RunFacts, contacts: string): Message {
  return {
    kind: 'start',
    title: `Rollback started: ${run.title} (${run.runId})`,
    text: lines(
      run.scenario && `Scenario: ${run.scenario}`,
      `Reason: ${run.reason ?? 'none given'}`,
      `Operator: ${run.operator}`,
      `Expected impact: ${run.impact}`,
      `Time budget: ${formatMs(run.budgetMs)}`,
      contacts && `Escalation: ${contacts}`,
    ),
  };
}

export function progressMessage(
  run: RunFacts,
  elapsedMs: number,
  step: { id: string; title: string } | undefined,
  done: number,
  total: number,
): Message {
  return {
    kind: 'progress',
    title: `Rollback in progress: ${run.title} (${run.runId})`,
    text: lines(
      `Running for ${againstBudget(elapsedMs, run.budgetMs)}`,
      `Steps finished: ${done} of ${total}`,
      step ? `Now: ${step.id}: ${step.title}` : 'Between steps',
    ),
  };
}

export function escalationMessage(run: RunFacts, level: number, team: string, afterMs: number, contacts: string[]): Message {
  return {
    kind: 'escalation',
    title: `Rollback escalated to level ${level} (${team}): ${run.title} (${run.runId})`,
    text: lines(
      `The rollback has run for ${formatMs(afterMs)}: involve the ${team}.`,
      `Contacts: ${contacts.length ? contacts.join(', ') : 'none configured (escalation[].contacts)'}`,
    ),
  };
}

export function endMessage(run: RunFacts, result: RunResult, nextSteps: string[], report: string | undefined): Message {
  return {
    kind: 'end',
    title: `Rollback ${result.status.toUpperCase()}: ${run.title} (${run.runId})`,
    text: lines(
      `Result: ${result.status}`,
      `Duration: ${againstBudget(result.duration_ms, result.budget_ms)}`,
      result.resume_command && `Resume with: ${result.resume_command}`,
      result.undo_command && `Undo: ${result.undo_command}`,
      ...nextSteps.map((line) => `Next: ${line}`),
      report && `Report: ${report}`,
    ),
  };
}

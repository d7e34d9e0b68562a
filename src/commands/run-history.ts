import type { StampedEvent } from '../engine/journal.js';
import type { StepHistory } from '../engine/plan.js';
import { FINISHED_STEP_STATUSES } from '../engine/result.js';
import { usageError } from '../errors.js';

export type RunStarted = Extract<StampedEvent, { type: 'run.started' }>;

export function runStartedOf(runId: string, events: StampedEvent[]): RunStarted {
  const started = events.find((event): event is RunStarted => event.type === 'run.started');
  if (!started) throw usageError('journal-invalid', `the journal of run ${runId} has no run.started event`);
  return started;
}

/** What each step got to, over every attempt of the run. */
export function stepHistory(events: StampedEvent[]): Map<string, StepHistory> {
  const history = new Map<string, StepHistory>();
  for (const event of events) {
    if (event.type === 'step.started') history.set(event.step, 'started');
    else if (event.type === 'step.finished') history.set(event.step, FINISHED_STEP_STATUSES.includes(event.status) ? 'finished' : 'failed');
    else if (event.type === 'step.declined') history.set(event.step, 'declined');
    else if (event.type === 'step.rechecked' && event.done) history.set(event.step, 'finished');
  }
  return history;
}

/** The run's last word: its final status, or undefined when it never said (it crashed). */
export function finalStatus(events: StampedEvent[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i] as StampedEvent;
    if (event.type === 'run.finished') return event.status;
    if (event.type === 'run.interrupted') return 'interrupted';
    if (event.type === 'run.resumed' || event.type === 'run.started') return undefined;
  }
  return undefined;
}

export function attemptsOf(events: StampedEvent[]): number {
  return events.filter((event) => event.type === 'run.started' || event.type === 'run.resumed').length;
}

/** Facts earlier attempts journaled (the baseline among them), the first of each name. */
export function observedFacts(events: StampedEvent[]): Map<string, unknown> {
  const facts = new Map<string, unknown>();
  for (const event of events) if (event.type === 'step.observed' && !facts.has(event.name)) facts.set(event.name, event.data);
  return facts;
}

import { actionNamed } from '../actions/index.js';
import type { Observation } from '../engine/execute.js';
import { isTrimpRollbackProcess } from '../engine/files.js';
import { journalPath, listRunIds, readJournal } from '../engine/journal.js';
import type { EventOf, Invocation, JournaledTarget, StampedEvent } from '../engine/journal-events.js';
import { isProcessAlive } from '../engine/lock.js';
import type { StepHistory } from '../engine/plan.js';
import { FINISHED_STEP_STATUSES } from '../engine/result.js';
import { runIdTime } from '../engine/run-id.js';
import { usageError } from '../errors.js';

export type RunStarted = EventOf<'run.started'>;

/** What a run's journal says about it, read once and validated. */
export interface RunRecord {
  id: string;
  events: StampedEvent[];
  started: RunStarted;
  /** succeeded, failed, declined, aborted, interrupted; running (its process is alive); unfinished (it died). */
  status: string;
  /** The target it acts on now: the one it started with, or the last it was moved to. */
  target: JournaledTarget;
  invocation: Invocation | undefined;
  /** How it reaches the flag now: as started, or as the last attempt was told (--retarget). */
  via: 'api' | 'db';
  attempts: number;
}

/** Reads a run's journal; anything the reader skipped is said on stderr. */
export function loadRun(stateDir: string, runId: string, note: (text: string) => void = stderrNote): RunRecord {
  // A run id names a directory under runs/: nothing else (no paths, no "..").
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(runId) || runId.includes('..'))
    throw usageError(
      'run-id-invalid',
      `"${runId}" is not a run id`,
      `list the runs with: trimp-rollback runs list --state-dir ${stateDir}`,
    );
  const { events, notes } = readJournal(journalPath(stateDir, runId));
  for (const text of notes) note(text);
  const started = events.find((event): event is RunStarted => event.type === 'run.started');
  if (!started)
    throw usageError('journal-invalid', `the journal of run ${runId} has no run.started event`, 'it is not a run this tool can use');
  let target = started.target;
  let invocation = started.invocation;
  for (const event of events) {
    if (event.type === 'run.retargeted') target = event.to;
    if (event.type === 'run.resumed') {
      if (event.target) target = event.target;
      if (event.invocation) invocation = event.invocation;
    }
  }
  const via = (invocation?.via ?? started.via) === 'db' ? 'db' : 'api';
  return { id: runId, events, started, status: statusOf(events), target, invocation, via, attempts: attemptsOf(events) };
}

function stderrNote(text: string): void {
  process.stderr.write(`note: ${text}\n`);
}

/** Every run in the state directory, oldest first; unreadable journals are reported, not fatal. */
export function loadRuns(stateDir: string): { runs: RunRecord[]; damaged: { id: string; problem: string }[] } {
  const runs: RunRecord[] = [];
  const damaged: { id: string; problem: string }[] = [];
  for (const id of listRunIds(stateDir)) {
    try {
      runs.push(loadRun(stateDir, id, () => {}));
    } catch (error) {
      damaged.push({ id, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return { runs, damaged };
}

/** What each step got to, over every attempt of the run. */
export function stepHistory(events: StampedEvent[]): Map<string, StepHistory> {
  const history = new Map<string, StepHistory>();
  for (const event of events) {
    if (event.type === 'step.started') history.set(event.step, 'started');
    else if (event.type === 'step.finished')
      history.set(event.step, !FINISHED_STEP_STATUSES.includes(event.status) ? 'failed' : event.ends_run ? 'ended-run' : 'finished');
    else if (event.type === 'step.declined') history.set(event.step, 'declined');
    else if (event.type === 'step.rechecked' && event.done) history.set(event.step, 'finished');
  }
  return history;
}

/** The run's last word: its final status; else whether its process still runs. */
function statusOf(events: StampedEvent[]): string {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i] as StampedEvent;
    if (event.type === 'run.finished') return event.status;
    if (event.type === 'run.interrupted') return 'interrupted';
    if (event.type === 'run.resumed' || event.type === 'run.started') return isRunningProcess(event.pid) ? 'running' : 'unfinished';
  }
  return 'unfinished';
}

function isRunningProcess(pid: number): boolean {
  return pid !== process.pid && isProcessAlive(pid) && isTrimpRollbackProcess(pid);
}

/** Runs that `resume` may continue: they stopped before the end, and nobody runs them now. */
export const RESUMABLE = ['failed', 'interrupted', 'unfinished'];

export function attemptsOf(events: StampedEvent[]): number {
  return events.filter((event) => event.type === 'run.started' || event.type === 'run.resumed').length;
}

/** Every fact the run's attempts journaled, in order. */
export function observationsOf(events: StampedEvent[]): Observation[] {
  return events.flatMap((e) => (e.type === 'step.observed' ? [{ step: e.step, name: e.name, data: e.data }] : []));
}

/** Whether an action changes the system (it asks first and rehearses by printing). */
/**
 * When an earlier attempt last changed the system (a changing step that finished having acted):
 * a resumed run judges user traffic from then on, as the attempt that made the change would have.
 */
export function lastChangeAt(events: StampedEvent[]): Date | undefined {
  const actions = new Map<string, string>();
  let last: string | undefined;
  for (const event of events) {
    if (event.type === 'step.started') actions.set(event.step, event.action);
    else if (
      event.type === 'step.finished' &&
      (event.status === 'succeeded' || event.status === 'warned') &&
      event.noop !== true &&
      isChange(actions.get(event.step) ?? '')
    )
      last = event.ts;
  }
  return last ? new Date(last) : undefined;
}

export function isChange(action: string): boolean {
  try {
    const definition = actionNamed(action);
    return definition.confirm && definition.rehearsal === 'print';
  } catch {
    return false;
  }
}

/** Whether the run started any step that changes the system. */
export function changedSomething(run: RunRecord): boolean {
  return run.events.some((event) => event.type === 'step.started' && isChange(event.action));
}

/** Two runs act on the same system when they name the same app or the same database. */
export function sameTarget(a: JournaledTarget, b: JournaledTarget): boolean {
  return a.base_url === b.base_url || a.database === b.database;
}

export function startedAt(run: RunRecord): Date {
  return runIdTime(run.id) ?? new Date(run.started.ts);
}

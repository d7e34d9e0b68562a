import type { RunResult } from '../engine/result.js';

const done = (status: string) => status === 'succeeded' || status === 'warned' || status === 'done-before';

/** A run that stopped the app and did not start it again says so, and what brings it back. */
export function appLeftStopped(result: RunResult): string[] {
  const stopped = result.steps.some((s) => s.action === 'app.stop' && done(s.status) && !s.noop);
  // A start that ran but never got healthy left a process running: not "stopped" (the line about health says so).
  const started = result.steps.some(
    (s) => s.action === 'app.start' && (done(s.status) || (s.status === 'failed' && s.evidence?.pid !== undefined)),
  );
  if (result.dry_run || !stopped || started) return [];
  const ways = [
    result.resume_command ? 'Resume finishes the rollback' : undefined,
    result.undo_command ? 'Undo puts back what ran before and starts the app' : undefined,
  ].filter(Boolean);
  return [`The app is STOPPED: this run stopped it and did not start it again.${ways.length ? ` ${ways.join('; ')}.` : ''}`];
}

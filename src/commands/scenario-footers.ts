import type { RunResult } from '../engine/result.js';

const done = (status: string) => status === 'succeeded' || status === 'warned' || status === 'done-before';

/** A run that stopped the app and did not start it again says so, and what brings it back. */
export function appLeftStopped(result: RunResult): string[] {
  if (result.dry_run) return [];
  // In step order: the last stop or start that acted decides (a complete rollback stops and starts twice).
  let stopped = false;
  for (const s of result.steps) {
    if (s.action === 'app.stop' && done(s.status) && !s.noop) stopped = true;
    // A start that ran but never got healthy, or was interrupted while waiting, left a process running.
    if (s.action === 'app.start' && (done(s.status) || ((s.status === 'failed' || s.status === 'interrupted') && startedOne(s.evidence))))
      stopped = false;
  }
  if (!stopped) return [];
  const ways = [
    result.resume_command ? 'Resume finishes the rollback' : undefined,
    result.undo_command ? 'Undo puts back what ran before and starts the app' : undefined,
  ].filter(Boolean);
  return [`The app is STOPPED: this run stopped it and did not start it again.${ways.length ? ` ${ways.join('; ')}.` : ''}`];
}

/** A start step's evidence names a started process: its own pid, or one of its instances'. */
function startedOne(evidence: Record<string, unknown> | undefined): boolean {
  if (evidence?.pid !== undefined) return true;
  const instances = evidence?.instances;
  return Array.isArray(instances) && instances.some((i) => (i as { pid?: unknown } | null)?.pid !== undefined);
}

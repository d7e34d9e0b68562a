import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';

/**
 * `20261128T210501.123Z-flag-3f9a`: sorts by time to the millisecond (two runs in one second
 * keep their order), readable, unique enough per state dir.
 */
export function newRunId(runbookId: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return `${stamp}-${runbookId}-${randomBytes(2).toString('hex')}`;
}

/** When a run id says it started (ids of every version of this tool), or undefined. */
export function runIdTime(runId: string): Date | undefined {
  const match = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\.\d{3})?Z-/.exec(runId);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, frac] = match;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac ?? ''}Z`);
}

export function operatorName(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep $USER.
  }
  return `${user}@${hostname()}`;
}

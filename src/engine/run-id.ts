import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';

/** `20261128T210501Z-flag-3f9a`: sortable by time, readable, unique enough per state dir. */
export function newRunId(runbookId: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${runbookId}-${randomBytes(2).toString('hex')}`;
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

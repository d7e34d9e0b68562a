import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ExitCode, TrimpError, usageError } from '../errors.js';

/** Who holds the state directory's lock. */
export interface LockHolder {
  run_id: string;
  pid: number;
  host: string;
  since: string;
  reason: string | null;
  runbook: string;
}

export interface LockHandle {
  holder: LockHolder;
  /** The stale holder this lock replaced, if --force-unlock took one over. */
  tookOver: LockHolder | undefined;
  release(): void;
}

export function lockPath(stateDir: string): string {
  return join(stateDir, 'lock.json');
}

/**
 * One rollback at a time per state directory. The lock file is created exclusively; a holder
 * whose process is gone is reported as stale and replaced only when the operator says so.
 */
export function acquireLock(stateDir: string, holder: LockHolder, force: { unlock: boolean; reason: string | null }): LockHandle {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = lockPath(stateDir);
  let tookOver: LockHolder | undefined;
  if (!tryCreate(path, holder)) {
    const current = readHolder(path);
    if (!current) {
      // The file vanished between our attempt and the read: the holder just released it.
      if (!tryCreate(path, holder)) throw heldBy(path, readHolder(path));
    } else {
      const stale = isStale(current);
      if (!stale) throw heldBy(path, current);
      if (!force.unlock) {
        throw new TrimpError('lock-stale', `stale lock: ${describeHolder(current)}, and that process is no longer running`, {
          exitCode: ExitCode.locked,
          remedy: 'if no rollback is running, take it over with --force-unlock --reason "..."',
        });
      }
      if (!force.reason)
        throw usageError('reason-required', '--force-unlock needs --reason "why"', 'the reason is journaled with the takeover');
      rmSync(path, { force: true });
      if (!tryCreate(path, holder)) throw heldBy(path, readHolder(path));
      tookOver = current;
    }
  }
  return {
    holder,
    tookOver,
    release() {
      // Only remove the lock if it is still ours.
      if (readHolder(path)?.run_id === holder.run_id && readHolder(path)?.pid === holder.pid) rmSync(path, { force: true });
    },
  };
}

export function readHolder(path: string): LockHolder | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return { run_id: 'unknown', pid: 0, host: 'unknown', since: 'unknown', reason: 'unreadable lock file', runbook: 'unknown' };
  }
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A holder on another host cannot be checked from here, so it is never called stale. */
function isStale(holder: LockHolder): boolean {
  return holder.host === hostname() && !isProcessAlive(holder.pid);
}

function tryCreate(path: string, holder: LockHolder): boolean {
  try {
    writeFileSync(path, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function describeHolder(holder: LockHolder): string {
  return `run ${holder.run_id} (${holder.runbook}), pid ${holder.pid} on ${holder.host}, since ${holder.since}${holder.reason ? `, reason "${holder.reason}"` : ''}`;
}

function heldBy(path: string, holder: LockHolder | undefined): TrimpError {
  return new TrimpError('locked', `another rollback holds the lock: ${holder ? describeHolder(holder) : path}`, {
    exitCode: ExitCode.locked,
    remedy: 'wait for it to finish; one rollback at a time per state directory',
  });
}

import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ExitCode, fileSystemError, TrimpError, usageError } from '../errors.js';
import { ensureDirectory, isDirectory, isFile, isTrimpRollbackProcess } from './files.js';

/** Who holds a lock. */
export interface LockHolder {
  run_id: string;
  pid: number;
  host: string;
  since: string;
  reason: string | null;
  runbook: string;
  operator?: string;
  /** Where the holder's journal is, so that a lock left by a finished run can be recognised. */
  state_dir?: string;
}

export type LockState = { kind: 'free' } | { kind: 'held'; holder: LockHolder } | { kind: 'unreadable'; why: string };

export interface LockHandle {
  path: string;
  /** What the lock guarded and who held it before, if it was taken over or cleared. */
  tookOver: { holder: LockHolder | undefined; why: string } | undefined;
  cleared: string | undefined;
  release(): void;
}

export interface LockRequest {
  /** The lock file. */
  path: string;
  /** What the lock protects, for messages: "state directory /x", "target /y/training_data.db". */
  scope: string;
  holder: LockHolder;
  force: { unlock: boolean; reason: string | null };
  /**
   * Why a holder whose process is gone may be cleared at once (its journal ends, or it is the
   * very run being resumed); undefined when only the operator can say (--force-unlock).
   */
  clearable?: (holder: LockHolder) => string | undefined;
}

export function stateLockPath(stateDir: string): string {
  return join(stateDir, 'lock.json');
}

/**
 * Where every operator of one target meets, whatever their own state directory: beside the
 * database when it is a file here, else in the app directory. Undefined when neither exists
 * on this host (a remote app reached only through its API).
 */
export function targetLockPath(target: { database: string; appDir: string }): string | undefined {
  // The real path: a symlink or `..` to the same database must meet the same lock.
  if (isFile(target.database)) return `${realpathSync(target.database)}.trimp-rollback-lock`;
  if (isDirectory(target.appDir)) return join(realpathSync(target.appDir), '.trimp-rollback-lock');
  return undefined;
}

/**
 * One rollback at a time. The lock file is written whole under a temporary name and linked
 * into place (link fails if the lock exists), so it is never seen empty or half-written.
 * A holder whose process is gone is stale; a lock that cannot be read is reported as such;
 * both are replaced only when the operator says so (--force-unlock --reason). A lock left by
 * a run whose journal says it ended is cleared at once.
 */
export function acquireLock(request: LockRequest): LockHandle {
  const { path, holder, force } = request;
  try {
    ensureDirectory(dirname(path));
  } catch (error) {
    throw fileSystemError(error, `the lock directory cannot be created`);
  }
  let tookOver: LockHandle['tookOver'];
  let cleared: string | undefined;
  if (!tryCreate(path, holder)) {
    const current = readLock(path);
    const staleness = current.kind === 'held' ? stalenessOf(current.holder) : undefined;
    if (current.kind === 'held' && staleness === 'alive') throw heldBy(request, current.holder);
    if (current.kind === 'held' && staleness === 'elsewhere' && !force.unlock) throw heldElsewhere(request, current.holder);
    const clearable = current.kind === 'held' ? request.clearable?.(current.holder) : undefined;
    if (current.kind === 'held' && clearable) {
      cleared = `cleared the lock left by run ${current.holder.run_id}, ${clearable} (its process ${current.holder.pid} is gone)`;
    } else if (current.kind !== 'free') {
      const why =
        current.kind === 'unreadable'
          ? `the lock file ${path} is unreadable (${current.why})`
          : staleness === 'elsewhere'
            ? `the lock on the ${request.scope} is held on another host: ${describeHolder(current.holder)}`
            : `stale lock on the ${request.scope}: ${describeHolder(current.holder)}, and ${staleness === 'reused' ? `pid ${current.holder.pid} is now another program` : 'that process is no longer running'}`;
      if (!force.unlock) {
        throw new TrimpError('lock-stale', why, {
          exitCode: ExitCode.locked,
          remedy: 'if no rollback is running, take it over with --force-unlock --reason "..."',
        });
      }
      if (!force.reason)
        throw usageError('reason-required', '--force-unlock needs --reason "why"', 'the reason is journaled with the takeover');
      tookOver = { holder: current.kind === 'held' ? current.holder : undefined, why };
    }
    // Free again (the holder released it meanwhile): just try once more; else replace it.
    if (current.kind !== 'free') removeLock(path);
    if (!tryCreate(path, holder)) {
      const now = readLock(path);
      throw now.kind === 'held'
        ? heldBy(request, now.holder)
        : new TrimpError('locked', `lost a race for ${path}`, { exitCode: ExitCode.locked });
    }
  }
  let released = false;
  return {
    path,
    tookOver,
    cleared,
    release() {
      if (released) return;
      released = true;
      // Only remove the lock if it is still ours.
      const now = readLock(path);
      if (now.kind === 'held' && now.holder.run_id === holder.run_id && now.holder.pid === holder.pid) rmSync(path, { force: true });
    },
  };
}

export function readLock(path: string): LockState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'free' };
    return { kind: 'unreadable', why: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
  if (text.trim() === '') return { kind: 'unreadable', why: 'empty: a full disk?' };
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value?.run_id !== 'string' || typeof value.pid !== 'number' || typeof value.host !== 'string') {
      return { kind: 'unreadable', why: 'not a lock written by trimp-rollback' };
    }
    return { kind: 'held', holder: value as LockHolder };
  } catch {
    return { kind: 'unreadable', why: 'not JSON' };
  }
}

/** Running, and not a zombie (a killed child nobody reaped yet is gone for every purpose here). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: the signal said it exists
  }
}

/**
 * Whether the holder still runs. One on another host cannot be checked from here ("elsewhere":
 * only the operator can say it is gone). On this host, a PID that now belongs to some other
 * program has been reused: the holder is gone.
 */
function stalenessOf(holder: LockHolder): 'alive' | 'gone' | 'reused' | 'elsewhere' {
  if (holder.host !== hostname()) return 'elsewhere';
  if (!isProcessAlive(holder.pid)) return 'gone';
  return isTrimpRollbackProcess(holder.pid) ? 'alive' : 'reused';
}

function removeLock(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch (error) {
    throw fileSystemError(error, 'the lock cannot be removed (is it a directory?)');
  }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o600 });
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && existsSync(path)) return false;
    throw fileSystemError(error, 'the lock could not be written');
  } finally {
    rmSync(temporary, { force: true });
  }
}

export function describeHolder(holder: LockHolder): string {
  const who = holder.operator ? ` by ${holder.operator}` : '';
  const where = holder.state_dir ? `, state dir ${holder.state_dir}` : '';
  return `run ${holder.run_id} (${holder.runbook})${who}, pid ${holder.pid} on ${holder.host}, since ${holder.since}${holder.reason ? `, reason "${holder.reason}"` : ''}${where}`;
}

function heldElsewhere(request: LockRequest, holder: LockHolder): TrimpError {
  return new TrimpError('locked', `another rollback holds the lock on the ${request.scope} from another host: ${describeHolder(holder)}`, {
    exitCode: ExitCode.locked,
    remedy: `it cannot be checked from here: wait for it, or, if that run is gone, take it over with --force-unlock --reason "..."`,
  });
}

function heldBy(request: LockRequest, holder: LockHolder): TrimpError {
  return new TrimpError('locked', `another rollback holds the lock on the ${request.scope}: ${describeHolder(holder)}`, {
    exitCode: ExitCode.locked,
    remedy: 'wait for it to finish; one rollback at a time per target and per state directory',
  });
}

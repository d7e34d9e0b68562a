import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * mkdir -p. Node's recursive mkdir reports some failures as ENOENT (on a read-only file system,
 * for one); when the parent exists, asking once more without recursion gives the real reason.
 */
export function ensureDirectory(path: string, mode = 0o700): void {
  try {
    mkdirSync(path, { recursive: true, mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(dirname(path))) mkdirSync(path, { mode });
    throw error;
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether a live PID is a trimp-rollback process (not a reused PID now running something
 * else). Without /proc it cannot be told, and is taken to be one.
 */
export function isTrimpRollbackProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('trimp-rollback');
  } catch {
    return true;
  }
}

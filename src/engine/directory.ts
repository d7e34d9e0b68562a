import { existsSync, mkdirSync } from 'node:fs';
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

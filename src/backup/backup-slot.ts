import { join } from 'node:path';
import { ensureDirectory } from '../engine/files.js';
import { ExitCode, fileSystemError, messageOf, TrimpError } from '../errors.js';
import { newBackupId } from './backup-id.js';

/** What every backup is asked, whichever the engine. */
export interface BackupRequest {
  dir: string;
  label?: string;
  runId?: string | null;
  appCommit?: string | null;
  /** The backup gives up after this long (the app writing faster than it can copy). */
  deadlineMs: number;
  signal?: AbortSignal;
}

/**
 * Where a new backup goes: its id, its file name (`<id>.db` or `<id>.dump`), the final path, and
 * the temporary one it is written under (a dot file naming this process, so that leftovers of a
 * killed backup are found and never listed as backups). The directory is created (0700).
 */
export function backupSlot(dir: string, label: string | undefined, extension: 'db' | 'dump') {
  const id = newBackupId(label);
  const file = `${id}.${extension}`;
  try {
    ensureDirectory(dir);
  } catch (error) {
    const problem = fileSystemError(error, 'the backup directory cannot be created');
    throw new TrimpError(problem.code, problem.message, {
      exitCode: ExitCode.usage,
      remedy: 'check backups.dir in the config (default <state_dir>/backups)',
    });
  }
  return { id, file, final: join(dir, file), temporary: join(dir, `.${file}.tmp-${process.pid}`) };
}

/** What every manifest records of who asked and how long it took, in the manifest's words. */
export function requestRecord(request: BackupRequest, started: number) {
  return {
    label: request.label ?? null,
    app_commit: request.appCommit ?? null,
    run_id: request.runId ?? null,
    duration_ms: Math.round(performance.now() - started),
  };
}

/**
 * A backup that failed, as one line: a disk that filled up (nothing was kept), a file-system error
 * where it happened, or what the engine said. An error already said (a TrimpError) stays as it is.
 */
export function backupFailure(error: unknown, dir: string, of: { source: string; doing: string; diskFull?: boolean }): TrimpError {
  if (error instanceof TrimpError) return error;
  if ((error as NodeJS.ErrnoException).code === 'ENOSPC' || of.diskFull)
    return new TrimpError('backup-no-space', `the backup ran out of disk in ${dir}: nothing was kept`, {
      remedy: 'free space there, prune old backups, or set backups.dir elsewhere; then try again',
    });
  if ((error as NodeJS.ErrnoException).syscall) return fileSystemError(error, of.doing);
  return new TrimpError('backup-failed', `the backup of ${of.source} failed: ${messageOf(error)}`);
}

import { join } from 'node:path';
import { ensureDirectory } from '../engine/files.js';
import { ExitCode, fileSystemError, TrimpError } from '../errors.js';
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

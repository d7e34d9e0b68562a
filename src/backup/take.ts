import type { Secret } from '../config/secret.js';
import { isPostgresUrl } from '../target/postgres.js';
import type { BackupRequest } from './backup-slot.js';
import { createBackup } from './create.js';
import type { Manifest } from './manifest.js';
import { createPostgresBackup } from './postgres-archive.js';

export interface TakeRequest extends BackupRequest {
  /** The SQLite file or the PostgreSQL URL. */
  database: string;
  password: Secret | undefined;
  onProgress?: (share: number) => void;
}

/** A verified backup of either engine: SQLite's backup API, or pg_dump -Fc in an exported snapshot. */
export async function takeBackup(request: TakeRequest): Promise<Manifest> {
  const common = {
    dir: request.dir,
    ...(request.label ? { label: request.label } : {}),
    runId: request.runId ?? null,
    appCommit: request.appCommit ?? null,
    deadlineMs: request.deadlineMs,
    ...(request.signal ? { signal: request.signal } : {}),
  };
  if (isPostgresUrl(request.database)) return createPostgresBackup({ ...common, url: request.database, password: request.password });
  return createBackup({ ...common, source: request.database, ...(request.onProgress ? { onProgress: request.onProgress } : {}) });
}

/** What the backup's own check said, for one-line summaries. */
export function checkedBy(manifest: Manifest): string {
  return manifest.engine === 'postgres' ? 'pg_restore --list ok' : 'quick_check ok';
}

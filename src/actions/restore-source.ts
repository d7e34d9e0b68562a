import { realpathSync } from 'node:fs';
import type { Baseline } from '../checks/baseline.js';
import { TrimpError } from '../errors.js';
import { formatBytes } from '../report/format.js';
import type { ActionContext, TargetInfo } from './action.js';

/**
 * What the database scenario puts in place, chosen by one step and used by the next ones
 * (journaled, so that a resumed run restores exactly what was chosen and verified).
 */
export interface RestoreSource {
  kind: 'backup' | 'kept';
  /** The backup id, or the kept file's path. */
  id: string;
  file: string;
  sha256: string;
  size: number;
  created_at: string;
  /** A pg_dump archive, restored into a new database and swapped in by name. */
  engine?: 'postgres';
  /** SQLite only: what the file's header says. */
  page_count?: number;
  user_version?: number;
  schema_hash: string;
  row_counts: Record<string, number>;
  newest_activity: string | null;
  max_activity_id: number | null;
}

export const RESTORE_SOURCE = 'restore_source';
export const KEPT_DATABASE = 'kept_database';
/** After a restore, "historical data intact" means: everything the restored copy held. */
export const RESTORED_BASELINE = 'restored_baseline';

export interface KeptDatabase {
  database: string;
  /** The kept file (SQLite), or the kept database's name on the server (PostgreSQL). */
  path: string;
  /** SQLite only: the kept file's checksum and size (a database on a server has neither). */
  sha256?: string;
  size?: number;
  /** "ok", or what was wrong with it (older journals: absent). */
  quick_check?: string;
}

export function restoreSourceOf(ctx: ActionContext): RestoreSource {
  const source = ctx.run.observed.get(RESTORE_SOURCE) as RestoreSource | undefined;
  if (!source)
    throw new TrimpError('restore-source-missing', 'no database to restore was chosen by an earlier step', {
      remedy: 'a runbook that restores needs a backup.choose (or database.use-kept) step before this one',
    });
  return source;
}

export function baselineOf(source: RestoreSource): Baseline {
  const what = source.kind === 'backup' ? `backup ${source.id}` : `the kept database ${source.file}`;
  return {
    recorded_at: `${what} (${source.created_at})`,
    row_counts: source.row_counts,
    newest_activity: source.newest_activity,
    schema_hash: source.schema_hash,
    error_rate: null,
  };
}

export function describeSource(source: RestoreSource, now = Date.now()): string {
  const rows = Object.entries(source.row_counts)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
  const what = source.kind === 'backup' ? `backup ${source.id}` : `kept database ${source.file}`;
  return `${what}: taken ${age(now - Date.parse(source.created_at))} ago, ${formatBytes(source.size)}, rows: ${rows || 'none counted'}, newest activity ${source.newest_activity ?? 'none'}`;
}

export function age(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/**
 * The database file itself. A symlinked target.database is kept, staged and replaced where it
 * points: renaming over the link would leave the app's real database untouched.
 */
export function databaseFileOf(info: TargetInfo): string {
  try {
    return realpathSync(info.database);
  } catch {
    return info.database;
  }
}

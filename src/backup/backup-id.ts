import { usageError } from '../errors.js';

/** Ids are file names in the backup directory: letters, digits, dot, dash, underscore; no "..". */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `20261129T031502.123Z` or `20261129T031502.123Z-before-deploy`: sortable by age. */
export function newBackupId(label: string | undefined, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  return label ? `${stamp}-${label}` : stamp;
}

export function validateBackupId(id: string): string {
  if (!ID.test(id) || id.includes('..'))
    throw usageError(
      'backup-id-invalid',
      `not a backup id: ${JSON.stringify(id.slice(0, 200))}`,
      'an id is a name such as 20261129T031502.123Z, as `trimp-rollback backup list` shows (no "/", no "..")',
    );
  return id;
}

export function validateLabel(label: string): string {
  if (!LABEL.test(label) || label.includes('..'))
    throw usageError(
      'backup-label-invalid',
      `not a usable label: ${JSON.stringify(label.slice(0, 200))}`,
      'use letters, digits, ".", "-" and "_" (up to 64)',
    );
  return label;
}

/** When the backup was taken, read from its id (undefined for ids made by hand). */
export function backupIdTime(id: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z/.exec(id);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
}

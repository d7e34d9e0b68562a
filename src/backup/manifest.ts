import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { messageOf, TrimpError } from '../errors.js';
import { fsyncPath } from './file-io.js';

const count = z.number().int().nonnegative();

/** What every backup's manifest says, whichever the engine: what it holds, and how to prove it is still that. */
const common = {
  format: z.literal(1),
  id: z.string(),
  created_at: z.string(),
  source: z.string(),
  /** The backup's file name (a SQLite database, or a pg_dump archive), beside the manifest. */
  file: z.string(),
  size: count,
  schema_hash: z.string(),
  row_counts: z.record(z.string(), count),
  newest_activity: z.string().nullable(),
  max_activity_id: z.number().int().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  label: z.string().nullable(),
  app_commit: z.string().nullable(),
  run_id: z.string().nullable(),
  duration_ms: count,
};

/** A SQLite backup: a database file (<id>.db). Older manifests have no `engine`. */
export const sqliteManifestSchema = z.object({
  ...common,
  engine: z.literal('sqlite').optional(),
  page_size: count,
  page_count: count,
  journal_mode: z.string(),
  user_version: z.number().int(),
  quick_check: z.string(),
  sqlite_version: z.string(),
});

/** A PostgreSQL backup: a pg_dump custom-format archive (<id>.dump) of one database. */
export const postgresManifestSchema = z.object({
  ...common,
  engine: z.literal('postgres'),
  /** The database it was taken of (its name on the server). */
  database: z.string(),
  server_version: z.string(),
  pg_dump_version: z.string(),
  /** What pg_restore --list said of the archive when it was taken. */
  archive_check: z.string(),
});

export const manifestSchema = z.union([postgresManifestSchema, sqliteManifestSchema]);
export type SqliteManifest = z.output<typeof sqliteManifestSchema>;
export type PostgresManifest = z.output<typeof postgresManifestSchema>;
export type Manifest = SqliteManifest | PostgresManifest;

export const isPostgresManifest = (manifest: Manifest): manifest is PostgresManifest => manifest.engine === 'postgres';

export function readManifest(path: string): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TrimpError(
      'backup-manifest',
      `${missing ? 'no manifest' : 'the manifest cannot be read'}: ${path}${missing ? '' : ` (${messageOf(error)})`}`,
      {
        remedy: 'a backup without its manifest cannot be verified: take a new one (trimp-rollback backup create)',
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TrimpError('backup-manifest', `the manifest is not JSON: ${path} (${messageOf(error)})`, {
      remedy: 'a backup whose manifest is damaged cannot be verified: take a new one',
    });
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TrimpError('backup-manifest', `the manifest is malformed: ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, {
      remedy: 'a backup whose manifest is damaged cannot be verified: take a new one',
    });
  }
  return result.data;
}

/** Written whole: a temporary file, fsynced, renamed, the directory fsynced; mode 0600. */
export function writeManifest(path: string, manifest: Manifest): void {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    fsyncPath(temporary);
    renameSync(temporary, path);
    fsyncPath(dirname(path));
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

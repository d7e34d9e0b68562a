import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { messageOf, TrimpError } from '../errors.js';
import { fsyncPath } from './file-io.js';

const count = z.number().int().nonnegative();

/** The manifest beside every backup: what it holds, and how to prove it is still that. */
export const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string(),
  created_at: z.string(),
  source: z.string(),
  /** The database file's name, beside the manifest. */
  file: z.string(),
  size: count,
  page_size: count,
  page_count: count,
  journal_mode: z.string(),
  user_version: z.number().int(),
  schema_hash: z.string(),
  row_counts: z.record(z.string(), count),
  newest_activity: z.string().nullable(),
  max_activity_id: z.number().int().nullable(),
  quick_check: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sqlite_version: z.string(),
  label: z.string().nullable(),
  app_commit: z.string().nullable(),
  run_id: z.string().nullable(),
  duration_ms: count,
});
export type Manifest = z.output<typeof manifestSchema>;

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

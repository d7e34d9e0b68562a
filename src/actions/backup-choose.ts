import { lstatSync, realpathSync } from 'node:fs';
import { z } from 'zod';
import { validateBackupId } from '../backup/backup-id.js';
import { isPostgresManifest } from '../backup/manifest.js';
import { type BackupEntry, BackupStore } from '../backup/store.js';
import { runIdTime } from '../engine/run-id.js';
import { messageOf, TrimpError } from '../errors.js';
import { describePostgres, isPostgresUrl } from '../target/postgres.js';
import type { Target } from '../target/target.js';
import { defineAction } from './action.js';
import { databaseFileOf, describeSource, RESTORE_SOURCE, type RestoreSource } from './restore-source.js';

const params = z
  .object({
    /** A backup id, "latest" (the newest, whatever its state), or "newest-verified" (the newest whose checksum holds). */
    backup: z.string().min(1).default('newest-verified'),
  })
  .strict();
type Params = z.output<typeof params>;

/** Picks the backup to restore and journals it (read-only): later steps restore exactly this one. */
export const backupChoose = defineAction<Params>({
  name: 'backup.choose',
  description: 'Choose the backup to restore (default: the newest whose checksum matches its manifest) and say what restoring it loses.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: ({ backup }, info) => [
    {
      kind: 'file',
      text:
        backup === 'newest-verified'
          ? `read ${info.backupsDir}: the newest backup whose SHA-256 matches its manifest`
          : backup === 'latest'
            ? `read ${info.backupsDir}: the newest backup`
            : `read ${info.backupsDir}/${backup}.json`,
    },
  ],
  async run({ backup }, ctx) {
    const store = new BackupStore(ctx.info.backupsDir);
    const skipped: string[] = [];
    let entry: BackupEntry | undefined;
    if (backup === 'latest' || backup === 'newest-verified') {
      // A backup this run took itself (a complete rollback's application stage backs up first) is
      // today's data, not a point to roll back to: "newest" means newest before the run began.
      const began = runIdTime(ctx.info.runId);
      // A backup of the other engine (a shared backups.dir) is not a candidate: a pg_dump archive is
      // no SQLite file, and the other way round.
      const postgres = isPostgresUrl(ctx.info.database);
      const all = store.entries().filter((e) => !e.manifest || isPostgresManifest(e.manifest) === postgres);
      const entries = all.filter((e) => !began || !e.manifest || Date.parse(e.manifest.created_at) < began.getTime());
      for (const e of all.filter((x) => !entries.includes(x))) skipped.push(`${e.id}: taken by this run`);
      if (entries.length === 0)
        throw new TrimpError(
          'backup-none',
          `no backups in ${ctx.info.backupsDir}${skipped.length ? ` from before this run (${skipped.length} taken by it)` : ''}`,
          {
            remedy: 'there is nothing to restore: take one while the database is good (trimp-rollback backup create)',
          },
        );
      if (backup === 'latest') entry = entries[0];
      else
        for (const candidate of entries) {
          const verification = await store.verify(candidate, 'checksum');
          if (verification.ok) {
            entry = candidate;
            break;
          }
          skipped.push(`${candidate.id}: ${verification.checks.at(-1)?.detail}`);
        }
      if (!entry)
        throw new TrimpError(
          'backup-none-verifies',
          `none of the ${entries.length} backups in ${ctx.info.backupsDir} verifies: ${skipped.join('; ')}`,
          {
            remedy: 'nothing was changed; look at them with trimp-rollback backup list',
          },
        );
    } else {
      entry = store.get(validateBackupId(backup));
    }
    const manifest = entry.manifest;
    if (manifest && isPostgresManifest(manifest) !== isPostgresUrl(ctx.info.database))
      throw new TrimpError(
        'backup-engine',
        `backup ${entry.id} is ${isPostgresManifest(manifest) ? 'a PostgreSQL archive' : 'a SQLite file'}, and the target is ${isPostgresUrl(ctx.info.database) ? 'a PostgreSQL database' : 'a SQLite file'}`,
        { remedy: 'nothing was changed; choose a backup of this database (trimp-rollback backup list)' },
      );
    if (!manifest)
      throw new TrimpError('backup-manifest', `backup ${entry.id} cannot be used: ${entry.problem}`, {
        remedy: 'nothing was changed; choose another (--backup ID) or let the tool pick the newest that verifies',
      });
    const source: RestoreSource = {
      kind: 'backup',
      id: manifest.id,
      file: entry.file,
      sha256: manifest.sha256,
      size: manifest.size,
      created_at: manifest.created_at,
      ...(isPostgresManifest(manifest)
        ? { engine: 'postgres' as const }
        : { page_count: manifest.page_count, user_version: manifest.user_version }),
      schema_hash: manifest.schema_hash,
      row_counts: manifest.row_counts,
      newest_activity: manifest.newest_activity,
      max_activity_id: manifest.max_activity_id,
    };
    ctx.observe(RESTORE_SOURCE, source);
    const doubts = [
      ...skipped.map((s) => `skipped newer backup ${s}`),
      ...(isPostgresManifest(manifest)
        ? serverDoubts(manifest.source, ctx.info.database)
        : provenanceDoubts(entry.file, manifest.source, databaseFileOf(ctx.info))),
    ];
    const lost = await activitiesNewerThan(ctx.target, source, ctx.run.observed.get('baseline'));
    const evidence = { backup: source, lost_activities: lost, skipped };
    return {
      status: doubts.length > 0 ? 'warned' : 'succeeded',
      summary: `${describeSource(source)}; ${lostText(lost)}`,
      evidence,
      ...(doubts.length > 0 ? { warnings: doubts } : {}),
    };
  },
});

/** A backup of another database, or a file that is a link to elsewhere, is said before it is used. */
function provenanceDoubts(file: string, source: string, database: string): string[] {
  const doubts: string[] = [];
  try {
    if (lstatSync(file).isSymbolicLink()) doubts.push(`${file} is a symbolic link to ${realpathSync(file)}`);
  } catch {
    // Verified next.
  }
  let taken = source;
  try {
    taken = realpathSync(source);
  } catch {
    // The source may be gone (it was corrupt and replaced): compare the path as recorded.
  }
  if (taken !== database && source !== database) doubts.push(`it was taken from another database: ${source} (this target is ${database})`);
  return doubts;
}

/**
 * Activities in today's database that the backup does not have: restoring loses them. When the
 * damage hides them, the baseline's count (if it could be read) gives an estimate.
 */
export async function activitiesNewerThan(
  target: Target,
  source: RestoreSource,
  baseline?: unknown,
): Promise<number | { about: number; why: string } | { unknown: string }> {
  try {
    const db = await target.openDatabase({ readonly: true });
    try {
      const [row] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM activities WHERE activity_id > ?', [
        source.max_activity_id ?? 0,
      ]);
      return row?.n ?? 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    const counted = (baseline as { row_counts?: Record<string, number> } | undefined)?.row_counts?.activities;
    const inBackup = source.row_counts.activities;
    if (counted !== undefined && inBackup !== undefined)
      return {
        about: Math.max(0, counted - inBackup),
        why: `estimated: today's database cannot be searched; the baseline counted ${counted}, the backup has ${inBackup}`,
      };
    return { unknown: messageOf(error) };
  }
}

export function lostText(lost: Awaited<ReturnType<typeof activitiesNewerThan>>): string {
  if (typeof lost === 'number')
    return lost === 0 ? 'no activity newer than it will be lost' : `${lost} activities newer than it will be lost`;
  if ('about' in lost) return `${lost.about === 0 ? 'no' : `about ${lost.about}`} activities newer than it will be lost (${lost.why})`;
  return `activities newer than it: cannot count (${lost.unknown.slice(0, 160)})`;
}

/** A PostgreSQL backup of another server or database (the role that took it does not matter). */
function serverDoubts(source: string, database: string): string[] {
  const place = (text: string) => text.replace(/^[^@/]*@/, '');
  const here = describePostgres(database);
  return place(source) === place(here) ? [] : [`it was taken from another database: ${source} (this target is ${here})`];
}

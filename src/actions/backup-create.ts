import { z } from 'zod';
import { checkedBy, takeBackup } from '../backup/take.js';
import { formatBytes, formatMs } from '../report/format.js';
import { appCommit } from '../target/app-repo.js';
import { isPostgresUrl } from '../target/postgres.js';
import { defineAction } from './action.js';
import { databaseFileOf } from './restore-source.js';

const params = z
  .object({
    label: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
      .default('before-rollback'),
  })
  .strict();
type Params = z.output<typeof params>;

/** A verified backup as a step (the application rollback keeps the database as it was). */
export const backupCreateStep = defineAction<Params>({
  name: 'backup.create',
  description:
    "A verified online backup of the database (SQLite's backup API and quick_check, or pg_dump -Fc and pg_restore --list; SHA-256, manifest) into backups.dir.",
  rehearsal: 'print',
  confirm: false,
  params,
  describe: ({ label }, info) => [
    isPostgresUrl(info.database)
      ? {
          kind: 'command',
          text: `pg_dump --format=custom (in an exported snapshot) of ${info.database} → ${info.backupsDir}/<id>-${label}.dump + .json (pg_restore --list, SHA-256, fsync, mode 0600)`,
        }
      : {
          kind: 'file',
          text: `backup ${databaseFileOf(info)} → ${info.backupsDir}/<id>-${label}.db + .json (quick_check, SHA-256, fsync, mode 0600)`,
        },
  ],
  async run({ label }, ctx) {
    const manifest = await takeBackup({
      database: isPostgresUrl(ctx.info.database) ? ctx.info.database : databaseFileOf(ctx.info),
      password: ctx.target.config.databasePassword,
      dir: ctx.info.backupsDir,
      label,
      runId: ctx.info.runId,
      appCommit: await appCommit(ctx.info.appDir),
      deadlineMs: 10 * 60_000,
    });
    ctx.observe('backup_created', { id: manifest.id, sha256: manifest.sha256, app_commit: manifest.app_commit });
    return {
      status: 'succeeded',
      summary: `backup ${manifest.id}: ${formatBytes(manifest.size)} in ${formatMs(manifest.duration_ms)}, ${checkedBy(manifest)}`,
      evidence: { id: manifest.id, sha256: manifest.sha256, size: manifest.size, app_commit: manifest.app_commit },
    };
  },
});

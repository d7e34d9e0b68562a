import { z } from 'zod';
import { sha256File } from '../backup/file-io.js';
import type { PostgresConnection } from '../backup/postgres-archive.js';
import { checkIntegrity, isOk, withSqliteFile } from '../backup/sqlite-file.js';
import { type BackupEntry, BackupStore, type Verification } from '../backup/store.js';
import { schemaHash } from '../checks/baseline.js';
import type { TargetConfig } from '../config/config.js';
import { messageOf } from '../errors.js';
import { isPostgresUrl } from '../target/postgres.js';
import { defineAction } from './action.js';
import { type RestoreSource, restoreSourceOf } from './restore-source.js';

const params = z.object({ thorough: z.boolean().default(false) }).strict();
type Params = z.output<typeof params>;

/**
 * Before anything is touched: the chosen database's SHA-256 against its record, quick_check
 * (integrity_check when thorough), and its schema against the one the app runs with today.
 */
export const databaseVerifySource = defineAction<Params>({
  name: 'database.verify-source',
  description:
    'Verify the chosen database before anything changes: checksum, quick_check (integrity_check with thorough), schema compatible with the app.',
  rehearsal: 'probe',
  confirm: false,
  rerunWhenResumed: true,
  params,
  describe: ({ thorough }, info) =>
    isPostgresUrl(info.database)
      ? [
          { kind: 'file', text: 'SHA-256 of the chosen archive, compared with its manifest' },
          { kind: 'command', text: 'pg_restore --list of the archive: every table the manifest counts has its data' },
          ...(thorough
            ? [
                {
                  kind: 'command' as const,
                  text: 'pg_restore into a scratch database, counts and schema against the manifest, then dropped',
                },
              ]
            : []),
          { kind: 'sql', text: "schema hash compared with today's database" },
        ]
      : [
          { kind: 'file', text: 'SHA-256 of the chosen database, compared with its manifest' },
          { kind: 'sql', text: `PRAGMA ${thorough ? 'integrity_check' : 'quick_check'} on the chosen database` },
          { kind: 'sql', text: "schema hash and user_version compared with today's database" },
        ],
  async run({ thorough }, ctx) {
    const source = restoreSourceOf(ctx);
    const depth = thorough ? 'integrity' : 'quick';
    const verification =
      source.kind === 'backup'
        ? await verifyBackup(ctx.info.backupsDir, source, depth, serverOf(ctx.target.config))
        : await verifyFile(source, depth);
    const checks = verification.checks.map((c) => `${c.name}: ${c.detail}`);
    if (!verification.ok)
      return {
        status: 'failed',
        summary: `${source.kind === 'backup' ? `backup ${source.id}` : source.file} does not verify: ${verification.checks.at(-1)?.name}: ${verification.checks.at(-1)?.detail}; nothing was changed`,
        evidence: { checks: verification.checks },
      };
    const schema = await schemaAgainstToday(ctx, source);
    if (schema.status === 'incompatible')
      return {
        status: 'failed',
        summary: `${schema.text}; nothing was changed`,
        evidence: { checks: verification.checks, schema },
      };
    return {
      status: schema.status === 'unknown' ? 'warned' : 'succeeded',
      summary: `${checks.join('; ')}; ${schema.text}`,
      evidence: { checks: verification.checks, schema },
      ...(schema.status === 'unknown' ? { warnings: [schema.text] } : {}),
    };
  },
});

/** A PostgreSQL target's server: a thorough verify restores the archive into a scratch database there. */
function serverOf(config: TargetConfig): PostgresConnection | undefined {
  return isPostgresUrl(config.database) ? { url: config.database, password: config.databasePassword } : undefined;
}

async function verifyBackup(
  dir: string,
  source: RestoreSource,
  depth: 'quick' | 'integrity',
  server: PostgresConnection | undefined,
): Promise<Verification> {
  const store = new BackupStore(dir);
  const entry: BackupEntry = store.get(source.id);
  const verification = await store.verify(entry, depth, server);
  // The manifest read now must still be the one chosen (a backup replaced under the same id is not it).
  if (verification.ok && entry.manifest?.sha256 !== source.sha256)
    return {
      ...verification,
      ok: false,
      checks: [...verification.checks, { name: 'manifest', ok: false, detail: 'the manifest changed since the backup was chosen' }],
    };
  return verification;
}

/** A database kept by an earlier run (undo): its recorded SHA-256, then the SQLite check. */
async function verifyFile(source: RestoreSource, depth: 'quick' | 'integrity'): Promise<Verification> {
  const checks: Verification['checks'] = [];
  const result = (ok: boolean): Verification => ({ id: source.id, ok, checks, manifest: undefined });
  let sha256: string;
  try {
    sha256 = await sha256File(source.file);
  } catch (error) {
    checks.push({ name: 'file', ok: false, detail: `${source.file}: ${messageOf(error)}` });
    return result(false);
  }
  checks.push({
    name: 'sha256',
    ok: sha256 === source.sha256,
    detail: sha256 === source.sha256 ? 'matches the journal' : 'differs from the one journaled when it was kept',
  });
  if (sha256 !== source.sha256) return result(false);
  const messages = await withSqliteFile(source.file, (db) => checkIntegrity(db, depth));
  checks.push({
    name: depth === 'quick' ? 'quick_check' : 'integrity_check',
    ok: isOk(messages),
    detail: isOk(messages) ? 'ok' : messages.slice(0, 3).join('; '),
  });
  return result(isOk(messages));
}

type SchemaVerdict = {
  status: 'same' | 'compatible' | 'incompatible' | 'unknown';
  text: string;
  today?: { schema_hash: string; user_version: number };
};

/** The app runs against today's schema: a backup with another schema (and another user_version) would break it. */
async function schemaAgainstToday(ctx: Parameters<typeof databaseVerifySource.run>[1], source: RestoreSource): Promise<SchemaVerdict> {
  let today: { schema_hash: string; user_version: number };
  let engine: 'sqlite' | 'postgres' = 'sqlite';
  try {
    const db = await ctx.target.openDatabase({ readonly: true });
    try {
      engine = db.kind;
      // PostgreSQL has no user_version: there the schema hash alone is known.
      const [row] = db.kind === 'sqlite' ? await db.all<{ user_version: number }>('PRAGMA user_version') : [];
      today = { schema_hash: await schemaHash(db), user_version: row?.user_version ?? 0 };
    } finally {
      await db.close();
    }
  } catch (error) {
    return { status: 'unknown', text: `schema not compared: today's database cannot be read (${messageOf(error).slice(0, 160)})` };
  }
  if (today.schema_hash === source.schema_hash) return { status: 'same', text: "same schema as today's database", today };
  // Without a user_version nothing tells whether the running release works with the backup's
  // schema; a damaged schema (a dropped table) is what this rollback exists for. Said, not refused:
  // the restored database is checked and the app validated afterwards.
  if (engine === 'postgres')
    return {
      status: 'unknown',
      text: "its schema differs from today's database (a dropped table, a migration?): the rollback brings the backup's schema back, and validation after it judges whether the app works with it",
      today,
    };
  if (today.user_version === source.user_version && today.user_version !== 0)
    return { status: 'compatible', text: `schema differs but user_version ${today.user_version} is the same`, today };
  return {
    status: 'incompatible',
    text: `its schema differs from today's database${source.user_version === undefined ? '' : ` (user_version ${source.user_version} vs ${today.user_version})`}: the running release may not work with it — roll the application back to a matching release first`,
    today,
  };
}

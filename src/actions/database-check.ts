import { z } from 'zod';
import { sha256FileInWorker } from '../backup/file-io.js';
import { factsDiffer, readDatabaseFacts } from '../backup/postgres-archive.js';
import { readFacts, withSqliteFile } from '../backup/sqlite-file.js';
import { isPostgresUrl } from '../target/postgres.js';
import { type ActionContext, defineAction, type StepOutcome } from './action.js';
import { databaseFileOf, type RestoreSource, restoreSourceOf } from './restore-source.js';

const params = z.object({}).strict();

/** The seed's "verify database integrity", against what was restored: the bytes and the facts recorded for them. */
export const databaseCheck = defineAction<z.output<typeof params>>({
  name: 'database.check',
  description: 'Check the restored database against its manifest: SHA-256, page count, schema, user_version and row counts.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: (_params, info) =>
    isPostgresUrl(info.database)
      ? [
          { kind: 'sql', text: `${info.database}: row counts, newest activity and schema hash compared with the manifest` },
          { kind: 'sql', text: 'amcheck: bt_index_check on every index of the public tables' },
        ]
      : [
          { kind: 'file', text: `SHA-256 of ${databaseFileOf(info)}, compared with the restored one` },
          { kind: 'sql', text: `${databaseFileOf(info)}: page_count, schema hash, user_version and row counts compared with the manifest` },
        ],
  async run(_params, ctx) {
    // A dry run restored nothing: today's file (written by the running app) is not what to judge.
    if (ctx.target.dryRun)
      return { status: 'skipped', summary: 'a dry run restores nothing: a real run checks the restored database here' };
    const source = restoreSourceOf(ctx);
    if (isPostgresUrl(ctx.info.database)) return checkPostgres(ctx, source);
    const database = databaseFileOf(ctx.info);
    const hashing = sha256FileInWorker(database);
    hashing.catch(() => undefined);
    const facts = await withSqliteFile(database, readFacts);
    const sha256 = await hashing;
    const problems: string[] = [];
    if (sha256 !== source.sha256) problems.push(`SHA-256 ${sha256.slice(0, 16)}… is not the restored ${source.sha256.slice(0, 16)}…`);
    if (facts.page_count !== source.page_count) problems.push(`${facts.page_count} pages, expected ${source.page_count}`);
    if (facts.schema_hash !== source.schema_hash) problems.push('the schema differs');
    if (facts.user_version !== source.user_version) problems.push(`user_version ${facts.user_version}, expected ${source.user_version}`);
    for (const [table, n] of Object.entries(source.row_counts))
      if (facts.row_counts[table] !== n) problems.push(`${table}: ${facts.row_counts[table] ?? 'missing'} rows, expected ${n}`);
    const evidence = { sha256, expected_sha256: source.sha256, facts };
    if (problems.length > 0) return { status: 'failed', summary: problems.join('; '), evidence };
    const rows = Object.entries(facts.row_counts)
      .map(([table, n]) => `${table} ${n}`)
      .join(', ');
    return {
      status: 'succeeded',
      summary: `SHA-256, ${facts.page_count} pages, schema, user_version ${facts.user_version} and rows (${rows}) match`,
      evidence,
    };
  },
});

/** The app's database, now the restored one: what the manifest says it holds, and amcheck finds no damage. */
async function checkPostgres(ctx: ActionContext, source: RestoreSource): Promise<StepOutcome> {
  const db = await ctx.target.openDatabase({ readonly: true });
  try {
    const facts = await readDatabaseFacts(db);
    const integrity = await db.integrity('quick');
    const problems = [...factsDiffer(source, facts), ...integrity.problems.slice(0, 3)];
    const evidence = { facts, integrity };
    if (problems.length > 0) return { status: 'failed', summary: problems.join('; '), evidence };
    const rows = Object.entries(facts.row_counts)
      .map(([table, n]) => `${table} ${n}`)
      .join(', ');
    const matched = `schema, newest activity and rows (${rows}) match`;
    // No amcheck on this server: the facts hold, the corruption check could not run. Said, not failed:
    // failing here would leave the app stopped on a database that holds exactly the backup.
    if (!integrity.checked)
      return { status: 'warned', summary: `${matched}; not checked for corruption: ${integrity.why}`, evidence, warnings: [integrity.why] };
    return { status: 'succeeded', summary: `${matched}; ${integrity.why}`, evidence };
  } finally {
    await db.close();
  }
}

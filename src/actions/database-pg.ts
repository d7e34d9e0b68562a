import { z } from 'zod';
import {
  databaseNameOf,
  derivedName,
  existingDatabases,
  factsDiffer,
  factsOfDatabase,
  maintenance,
  type PostgresConnection,
  quoteIdentifier,
  restoreArchive,
} from '../backup/postgres-archive.js';
import { TrimpError } from '../errors.js';
import { describePostgres, isPostgresUrl } from '../target/postgres.js';
import { type ActionContext, defineAction, type TargetInfo } from './action.js';
import { activitiesNewerThan, lostText } from './backup-choose.js';
import {
  baselineOf,
  KEPT_DATABASE,
  type KeptDatabase,
  RESTORE_SOURCE,
  RESTORED_BASELINE,
  type RestoreSource,
  restoreSourceOf,
} from './restore-source.js';

/**
 * The database rollback on PostgreSQL: the archive is restored into a new database while the app
 * still runs (the outage does not pay for pg_restore), checked against its manifest, and then,
 * with the app stopped, swapped in by two renames in one transaction: at every instant the app's
 * database name is a whole database, the old one or the restored one. The old one stays, renamed
 * `<name>_before_<run>`, for `database undo`.
 */

function connectionOf(ctx: ActionContext): PostgresConnection {
  return { url: ctx.target.config.database, password: ctx.target.config.databasePassword };
}

/** The app's database, the staged restore (or, for an undo, the database to bring back), and where today's is kept. */
export function namesOf(info: Pick<TargetInfo, 'database' | 'runId'>, bringIn?: string) {
  // A plan is described before a SQLite target is refused these steps (and the docs describe them
  // with no server at all): then the names are said as patterns.
  if (!isPostgresUrl(info.database)) return { current: '<name>', staged: bringIn ?? '<name>_restore_<run>', kept: '<name>_before_<run>' };
  const current = databaseNameOf(info.database);
  return {
    current,
    staged: bringIn ?? derivedName(current, 'restore', info.runId),
    kept: derivedName(current, 'before', info.runId),
  };
}

const stageParams = z.object({}).strict();

export const databaseStage = defineAction<z.output<typeof stageParams>>({
  name: 'database.stage',
  description:
    "PostgreSQL: restore the chosen archive into a new database beside the app's (pg_restore, no owners or grants), then compare its rows, newest activity and schema with the manifest. The app keeps running.",
  rehearsal: 'print',
  confirm: false,
  params: stageParams,
  describe: (_params, info) => {
    const { staged } = namesOf(info);
    return [
      {
        kind: 'sql',
        text: `DROP DATABASE IF EXISTS ${staged} (left by a killed run, if any); CREATE DATABASE ${staged} TEMPLATE template1`,
      },
      {
        kind: 'command',
        text: `pg_restore --exit-on-error --no-owner --no-acl (extensions left out) --dbname ${staged} <the chosen archive>`,
      },
      { kind: 'sql', text: `${staged}: row counts, newest activity and schema hash compared with the manifest` },
    ];
  },
  async blastRadius(_params, ctx) {
    const { staged, current } = namesOf(ctx.info);
    return [`a new database ${staged} on the server of ${current}; the app and its database are not touched`];
  },
  async run(_params, ctx) {
    const source = restoreSourceOf(ctx);
    const { staged } = namesOf(ctx.info);
    const server = connectionOf(ctx);
    ctx.progress(`pg_restore into ${staged}`);
    await restoreArchive(source.file, staged, server, ctx.signal);
    const facts = await factsOfDatabase(server, staged);
    const differences = factsDiffer(source, facts);
    const evidence = { staged, facts };
    if (differences.length > 0)
      return {
        status: 'failed',
        summary: `${staged} does not hold what the manifest says: ${differences.join('; ')}; the app's database was not touched`,
        evidence,
      };
    return {
      status: 'succeeded',
      summary: `restored backup ${source.id} into ${staged}: ${describeRows(facts.row_counts)}, newest activity ${facts.newest_activity ?? 'none'}, schema as the manifest`,
      evidence,
    };
  },
  async reconcile(_params, ctx) {
    const source = restoreSourceOf(ctx);
    const { staged } = namesOf(ctx.info);
    const server = connectionOf(ctx);
    if ((await existingDatabases(server, [staged])).length === 0) return { done: false, summary: `${staged} does not exist yet` };
    // A killed pg_restore leaves a database that exists but is not whole: only the facts tell.
    const differences = factsDiffer(source, await factsOfDatabase(server, staged).catch(() => ({ ...source, schema_hash: '?' })));
    return differences.length === 0
      ? { done: true, summary: `${staged} already holds backup ${source.id}` }
      : { done: false, summary: `${staged} exists but is not whole (${differences[0]}): restored again` };
  },
});

const swapParams = z
  .object({
    /** The database to swap in (an undo: the one an earlier run kept); default: this run's staged restore. */
    bring_in: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, 'a database name as this tool makes them')
      .optional(),
  })
  .strict();

/** How many times sessions are ended and the renames tried, when a client connects in between. */
const SWAP_TRIES = 5;

export const databaseSwap = defineAction<z.output<typeof swapParams>>({
  name: 'database.swap',
  description:
    "PostgreSQL: end the remaining sessions of the app's database and of the staged one, then in one transaction rename the app's database to <name>_before_<run> and the staged one to <name>.",
  rehearsal: 'print',
  confirm: true,
  recheckWhenResumed: false,
  params: swapParams,
  describe: ({ bring_in }, info) => {
    const { current, staged, kept } = namesOf(info, bring_in);
    return [
      { kind: 'sql', text: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('${current}', '${staged}')` },
      { kind: 'sql', text: `BEGIN; ALTER DATABASE ${current} RENAME TO ${kept}; ALTER DATABASE ${staged} RENAME TO ${current}; COMMIT` },
    ];
  },
  async blastRadius({ bring_in }, ctx) {
    const { current, kept, staged } = namesOf(ctx.info, bring_in);
    const source = sourceOf(ctx);
    return [
      `${current} on ${describePostgres(ctx.info.database)} becomes ${source ? `backup ${source.id}` : staged}`,
      ...(source ? [lostText(await activitiesNewerThan(ctx.target, source, ctx.run.observed.get('baseline')))] : []),
      `today's database stays on the server as ${kept} (database undo puts it back)`,
    ];
  },
  async run({ bring_in }, ctx) {
    const source = sourceOf(ctx);
    const { current, staged, kept } = namesOf(ctx.info, bring_in);
    const server = connectionOf(ctx);
    let ended = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        ended += await maintenance(server, async (db) => {
          const [row] = await db.all<{ n: number }>(
            'SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname IN (?, ?) AND pid <> pg_backend_pid()',
            [current, staged],
          );
          await db.transaction(async () => {
            await db.run(`ALTER DATABASE ${quoteIdentifier(current)} RENAME TO ${quoteIdentifier(kept)}`);
            await db.run(`ALTER DATABASE ${quoteIdentifier(staged)} RENAME TO ${quoteIdentifier(current)}`);
          });
          return row?.n ?? 0;
        });
        break;
      } catch (error) {
        // Another client connected between the end of its session and the rename: end it and try again.
        const busy = error instanceof Error && /being accessed by other users/.test(error.message);
        if (!busy || attempt >= SWAP_TRIES) throw swapFailed(error, current, attempt);
      }
    }
    const record: KeptDatabase = { database: ctx.info.database, path: kept, sha256: '', size: 0, quick_check: 'ok' };
    ctx.observe(KEPT_DATABASE, record);
    if (source) ctx.observe(RESTORED_BASELINE, baselineOf(source));
    return {
      status: 'succeeded',
      summary: `${current} is now ${source ? `backup ${source.id}` : `what was ${staged}`}; today's database is kept as ${kept}${ended ? ` (${ended} remaining session(s) ended)` : ''}`,
      evidence: { current, kept, staged, sessions_ended: ended },
    };
  },
  async reconcile({ bring_in }, ctx) {
    const { current, staged, kept } = namesOf(ctx.info, bring_in);
    const present = await existingDatabases(connectionOf(ctx), [current, staged, kept]);
    // The renames are one transaction: either both happened or neither.
    if (present.includes(kept) && present.includes(current) && !present.includes(staged)) {
      ctx.observe(KEPT_DATABASE, {
        database: ctx.info.database,
        path: kept,
        sha256: '',
        size: 0,
        quick_check: 'ok',
      } satisfies KeptDatabase);
      const source = sourceOf(ctx);
      if (source) ctx.observe(RESTORED_BASELINE, baselineOf(source));
      return { done: true, summary: `already swapped: ${current} is the restored database, ${kept} the one before` };
    }
    return { done: false, summary: `not swapped yet (${present.join(', ') || 'none of them'} present)` };
  },
});

/** The backup being restored; an undo brings back a kept database and has none. */
function sourceOf(ctx: ActionContext): RestoreSource | undefined {
  return ctx.run.observed.get(RESTORE_SOURCE) as RestoreSource | undefined;
}

function swapFailed(error: unknown, current: string, attempts: number): TrimpError {
  const message = error instanceof Error ? error.message : String(error);
  return new TrimpError('database-swap', `the swap of ${current} failed after ${attempts} tries: ${message}; nothing was renamed`, {
    remedy: 'see which clients still connect (pg_stat_activity), stop them, then resume',
  });
}

function describeRows(rows: Record<string, number>): string {
  return Object.entries(rows)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
}

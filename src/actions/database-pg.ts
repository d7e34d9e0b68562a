import { z } from 'zod';
import {
  databaseNameOf,
  derivedName,
  dropDatabase,
  existingDatabases,
  factsDiffer,
  factsOfDatabase,
  maintenance,
  type PostgresConnection,
  quoteIdentifier,
  restoreArchive,
} from '../backup/postgres-archive.js';
import { TrimpError } from '../errors.js';
import type { SqlDatabase } from '../target/database.js';
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
  // The docs' placeholder run id: the names as patterns.
  if (info.runId.startsWith('<')) return { current, staged: bringIn ?? `${current}_restore_<run>`, kept: `${current}_before_<run>` };
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
    try {
      await restoreArchive(source.file, staged, server, ctx.signal);
    } catch (error) {
      // Half a restore is no use to anyone: dropped (a resume restores again from the start).
      await dropDatabase(server, staged).catch(() => undefined);
      if (ctx.signal.aborted)
        return {
          status: 'skipped',
          summary: `interrupted while restoring into ${staged}: it was dropped; the app's database was not touched`,
        };
      throw error;
    }
    const facts = await factsOfDatabase(server, staged);
    const differences = factsDiffer(source, facts);
    const evidence = { staged, facts };
    if (differences.length > 0) {
      await dropDatabase(server, staged).catch(() => undefined);
      return {
        status: 'failed',
        summary: `${staged} does not hold what the manifest says: ${differences.join('; ')}; it was dropped, and the app's database was not touched`,
        evidence,
      };
    }
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

/**
 * Read-only, just before the app stops: the restore may have taken minutes, and a client that
 * connected meanwhile (another role's, which this role may not end) would fail the swap with the
 * app already down. Found here, the app keeps running.
 */
export const databaseSwapReady = defineAction<z.output<typeof stageParams>>({
  name: 'database.swap-ready',
  description: 'PostgreSQL, just before the app stops: the role may still rename the database, and no session it may not end is connected.',
  rehearsal: 'probe',
  confirm: false,
  rerunWhenResumed: true,
  params: stageParams,
  describe: () => [
    { kind: 'sql', text: "pg_stat_activity, pg_database: no session this role may not end, and the role still owns the app's database" },
  ],
  async run(_params, ctx) {
    const db = await ctx.target.openDatabase({ readonly: true });
    const found = await swapProblems(db).finally(() => db.close());
    if (found.problems.length > 0)
      return { status: 'failed', summary: `${found.problems.join('; ')}; the app was not stopped`, evidence: { problems: found.problems } };
    return { status: 'succeeded', summary: found.said };
  },
});

const swapParams = z
  .object({
    /** The database to swap in (an undo: the one an earlier run kept); default: this run's staged restore. */
    bring_in: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[^\0]+$/, 'a database name')
      .optional(),
  })
  .strict();

/**
 * Sessions of a role (clients), other than ours. Autovacuum and the server's own processes have
 * no role: PostgreSQL stops them for a rename itself. (Another role's session shows no
 * backend_type to a role that is not a superuser: its role is what tells it apart.)
 */
const SESSION = 'pid <> pg_backend_pid() AND usesysid IS NOT NULL';
/** What this role may end: its own role's sessions, or any as a superuser. */
const MAY_END = "((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, usesysid, 'MEMBER'))";
const ENDABLE = `${SESSION} AND ${MAY_END}`;

/**
 * What would make the swap fail after the app is stopped, found before: the role may not create
 * databases or rename the app's (it must own it), a restore would change who owns the tables
 * (pg_restore --no-owner gives them to the restoring role), or a client this role cannot end is
 * connected. Asked on a connection to the app's database.
 */
export async function swapProblems(db: SqlDatabase): Promise<{ problems: string[]; said: string }> {
  const problems: string[] = [];
  const [role] = await db.all<{ name: string; creates: boolean; owns: boolean; owner: string }>(
    `SELECT current_user AS name, (r.rolcreatedb OR r.rolsuper) AS creates,
            (r.rolsuper OR pg_has_role(current_user, d.datdba, 'MEMBER')) AS owns, pg_get_userbyid(d.datdba) AS owner
       FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`,
  );
  const name = role?.name ?? '?';
  if (!role?.creates)
    problems.push(`role ${name} may not create databases: the restore needs CREATEDB (ALTER ROLE ${name} CREATEDB, as a superuser)`);
  if (!role?.owns)
    problems.push(
      `role ${name} does not own the database (${role?.owner ?? '?'} does): only its owner may rename it; connect as ${role?.owner ?? 'its owner'}`,
    );
  const others = await db.all<{ owner: string; n: number }>(
    "SELECT tableowner AS owner, COUNT(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user GROUP BY 1 ORDER BY 1",
  );
  if (others.length > 0)
    problems.push(
      `${others.map((o) => `${o.n} table(s) belong to ${o.owner}`).join(', ')}: restored by ${name} they would be ${name}'s, and the app could lose them; connect as the role that owns the tables`,
    );
  const stuck = await db.all<{ pid: number; user: string; app: string }>(
    `SELECT pid, usename AS user, application_name AS app FROM pg_stat_activity
      WHERE datname = current_database() AND ${SESSION} AND NOT ${MAY_END}`,
  );
  if (stuck.length > 0)
    problems.push(
      `${stuck.map((s) => `pid ${s.pid} (${s.user}${s.app ? `, ${s.app}` : ''})`).join(', ')} ${stuck.length > 1 ? 'are' : 'is'} connected and role ${name} may not end ${stuck.length > 1 ? 'them' : 'it'}: stop ${stuck.length > 1 ? 'those clients' : 'that client'} (or end ${stuck.length > 1 ? 'them' : 'it'} as a superuser) first`,
    );
  return {
    problems,
    said: `role ${name} may create databases, owns ${db.location.split('/').at(-1)} and its tables, and may end every session on it`,
  };
}

/**
 * The app's database's own settings (ALTER DATABASE … SET) and access rules (GRANT/REVOKE …
 * ON DATABASE) are the server's, not in the archive: put on the database coming in before it
 * takes the name, or a REVOKE CONNECT would be lost with the swap.
 */
async function carryDatabaseRules(db: SqlDatabase, from: string, to: string): Promise<string[]> {
  const said: string[] = [];
  const settings = await db.all<{ setting: string }>(
    `SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
      WHERE d.datname = ? AND s.setrole = 0`,
    [from],
  );
  for (const { setting } of settings) {
    const at = setting.indexOf('=');
    const key = setting.slice(0, at);
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) continue;
    await db.run(`ALTER DATABASE ${quoteIdentifier(to)} SET ${key} = ${quoteLiteral(setting.slice(at + 1))}`);
    said.push(`${key}=${setting.slice(at + 1)}`);
  }
  const [acl] = await db.all<{ custom: boolean }>('SELECT datacl IS NOT NULL AS custom FROM pg_database WHERE datname = ?', [from]);
  if (acl?.custom) {
    // The default (NULL) lets PUBLIC connect: replaced by exactly the grants the old one had.
    await db.run(`REVOKE ALL ON DATABASE ${quoteIdentifier(to)} FROM PUBLIC`);
    const grants = await db.all<{ grantee: string | null; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege,
              a.is_grantable AS grantable
         FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = ?`,
      [from],
    );
    for (const g of grants)
      await db.run(
        `GRANT ${g.privilege} ON DATABASE ${quoteIdentifier(to)} TO ${g.grantee === null ? 'PUBLIC' : quoteIdentifier(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
      );
    said.push(`${grants.length} database privilege grant(s)`);
  }
  // A role's own settings in this database (ALTER ROLE … IN DATABASE) take a superuser to write:
  // not carried, and said.
  const [roles] = await db.all<{ n: number }>(
    'SELECT COUNT(*)::int AS n FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = ? AND s.setrole <> 0',
    [from],
  );
  if (roles?.n) said.push(`NOT the settings of ${roles.n} role(s) in it (ALTER ROLE … IN DATABASE ${to}, as a superuser, puts them back)`);
  return said;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

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
      {
        kind: 'sql',
        text: `ALTER DATABASE ${staged} SET …, GRANT … ON DATABASE ${staged}: the settings and access rules of ${current}, carried over`,
      },
      {
        kind: 'sql',
        text: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('${current}', '${staged}') (the client sessions this role may end)`,
      },
      { kind: 'sql', text: `BEGIN; ALTER DATABASE ${current} RENAME TO ${kept}; ALTER DATABASE ${staged} RENAME TO ${current}; COMMIT` },
    ];
  },
  async blastRadius({ bring_in }, ctx) {
    const { current, kept, staged } = namesOf(ctx.info, bring_in);
    const source = sourceOf(ctx);
    return [
      `${current} on ${describePostgres(ctx.info.database)} becomes ${source ? `backup ${source.id}` : staged}`,
      ...(source
        ? [lostText(await activitiesNewerThan(ctx.target, source, ctx.run.observed.get('baseline')))]
        : [
            `what the app wrote to ${current} meanwhile goes with it, and what ${staged} held comes back (damage included, if it was rolled back for that)`,
          ]),
      `today's database stays on the server as ${kept} (database undo puts it back)`,
    ];
  },
  async run({ bring_in }, ctx) {
    const source = sourceOf(ctx);
    const { current, staged, kept } = namesOf(ctx.info, bring_in);
    const server = connectionOf(ctx);
    let ended = 0;
    let carried: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        ended += await maintenance(server, async (db) => {
          if (attempt === 1) carried = await carryDatabaseRules(db, current, staged);
          const [row] = await db.all<{ n: number }>(
            `SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname IN (?, ?) AND ${ENDABLE}`,
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
        if (!busy || attempt >= SWAP_TRIES) throw swapFailed(error, current, attempt, await sessionsOn(server, [current, staged]));
      }
    }
    const record: KeptDatabase = { database: ctx.info.database, path: kept };
    ctx.observe(KEPT_DATABASE, record);
    if (source) ctx.observe(RESTORED_BASELINE, baselineOf(source));
    return {
      status: 'succeeded',
      summary: `${current} is now ${source ? `backup ${source.id}` : `what was ${staged}`}; today's database is kept as ${kept}${ended ? ` (${ended} remaining session(s) ended)` : ''}${carried.length ? `; carried over: ${carried.join(', ')}` : ''}`,
      evidence: { current, kept, staged, sessions_ended: ended, carried },
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

/** Who is connected to these databases now, for a message: "pid 123 (postgres, psql)". */
async function sessionsOn(server: PostgresConnection, names: string[]): Promise<string> {
  try {
    const rows = await maintenance(server, (db) =>
      db.all<{ pid: number; user: string | null; app: string | null }>(
        `SELECT pid, usename AS user, application_name AS app FROM pg_stat_activity WHERE datname IN (${names.map(() => '?').join(', ')}) AND pid <> pg_backend_pid()`,
        names,
      ),
    );
    return rows.map((r) => `pid ${r.pid} (${r.user ?? 'server process'}${r.app ? `, ${r.app}` : ''})`).join(', ');
  } catch {
    return '';
  }
}

function swapFailed(error: unknown, current: string, attempts: number, connected: string): TrimpError {
  const message = error instanceof Error ? error.message : String(error);
  return new TrimpError(
    'database-swap',
    `the swap of ${current} failed after ${attempts} tries: ${message}${connected ? ` (connected: ${connected})` : ''}; nothing was renamed`,
    { remedy: 'stop those clients (or end them as a superuser), then resume: the swap is tried again' },
  );
}

function describeRows(rows: Record<string, number>): string {
  return Object.entries(rows)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
}

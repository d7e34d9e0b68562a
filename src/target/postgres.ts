import type { Secret } from '../config/secret.js';
import { ExitCode, TrimpError } from '../errors.js';
import type { IntegrityResult, OpenOptions, SchemaObject, SqlDatabase } from './database.js';

/** A PostgreSQL target: `postgres://user@host:port/db` (never with a password in it). */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

/** The URL as it may be shown: it holds no password (refused when it does), so it is the URL. */
export function describePostgres(url: string): string {
  const u = new URL(url);
  return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/**
 * host, port, user and database from the URL, given to the driver one by one: with a connection
 * string, node-postgres lets the string's (absent) password override the one given beside it.
 */
export function connectionOf(url: string): { host: string; port: number; user?: string; database?: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: decodeURIComponent(u.hostname),
    port: Number(u.port || 5432),
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(database ? { database } : {}),
  };
}

/**
 * COUNT(*) is a bigint and AVG a numeric, which node-postgres hands over as text (they may not fit
 * a double); every figure the checks compare is a count or a TRIMP value that does, and "3002"
 * against 3002 would read as a changed row count. So both arrive as numbers, as from SQLite.
 */
export function numbersAsNumbers(types: typeof import('pg').types) {
  const BIGINT = 20;
  const NUMERIC = 1700;
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === BIGINT || oid === NUMERIC
        ? (value: string) => Number(value)
        : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
  };
}

/** Each statement's bound, so that a lock held by the app cannot hang a rollback step. */
const STATEMENT_TIMEOUT_MS = 15_000;

/**
 * node-postgres behind the SqlDatabase interface: `?` placeholders become `$1…`, every write runs
 * in one transaction, every statement is bounded, and the errors an operator meets (wrong
 * password, server unreachable, missing table) are one line each with what to do. The password
 * comes from PGPASSWORD, target.database_password_file or ~/.pgpass (pg reads it), never the URL.
 */
export async function openPostgres(url: string, options: OpenOptions & { password?: Secret | undefined }): Promise<SqlDatabase> {
  const { default: pg } = await import('pg');
  const where = describePostgres(url);
  const client = new pg.Client({
    ...connectionOf(url),
    types: numbersAsNumbers(pg.types),
    ...(options.password ? { password: options.password.reveal() } : {}),
    connectionTimeoutMillis: options.busyTimeoutMs ?? 5000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'trimp-rollback',
  });
  // A server that goes away later must not crash the process: the next query fails instead.
  client.on('error', () => {});
  try {
    await client.connect();
    if (options.readonly) await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
  } catch (error) {
    await client.end().catch(() => undefined);
    throw pgError(where, error);
  }
  const query = async <T>(sql: string, params: readonly unknown[] = []) => {
    try {
      return await client.query<T & Record<string, unknown>>(numbered(sql), [...params]);
    } catch (error) {
      throw pgError(where, error);
    }
  };
  let inTransaction = false;
  const db: SqlDatabase = {
    kind: 'postgres',
    location: where,
    async all<T>(sql: string, params?: readonly unknown[]) {
      return (await query<T>(sql, params)).rows as T[];
    },
    async run(sql: string, params?: readonly unknown[]) {
      return { changes: (await query(sql, params)).rowCount ?? 0 };
    },
    async transaction<T>(work: () => Promise<T>) {
      await query('BEGIN');
      inTransaction = true;
      try {
        const result = await work();
        await query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        inTransaction = false;
      }
    },
    async tableNames() {
      const rows = await db.all<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
      );
      return rows.map((r) => r.name);
    },
    async schemaObjects(): Promise<SchemaObject[]> {
      // Columns (name, type, nullability, default) and indexes, as the catalog states them.
      const columns = await db.all<SchemaObject>(
        `SELECT 'column' AS type, table_name || '.' || column_name AS name,
                data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS sql
           FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      );
      const indexes = await db.all<SchemaObject>(
        "SELECT 'index' AS type, indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
      );
      return [...columns, ...indexes];
    },
    async integrity(level): Promise<IntegrityResult> {
      return amcheck(db, level);
    },
    async close() {
      if (inTransaction) await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
  return db;
}

/**
 * "No data corruption" on PostgreSQL: amcheck (postgresql-contrib) verifies every B-tree index of
 * the public tables (bt_index_check) and, thoroughly, every table's heap (verify_heapam). Without
 * the extension in the database there is no such check: said, never passed.
 */
async function amcheck(db: SqlDatabase, level: 'quick' | 'thorough'): Promise<IntegrityResult> {
  const [installed] = await db.all<{ n: number }>("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'amcheck'");
  if (!installed?.n)
    return {
      checked: false,
      problems: [],
      why: 'the amcheck extension is not installed in this database (CREATE EXTENSION amcheck, as its owner)',
    };
  // Not granted (PostgreSQL's default for amcheck): no check, said; never a "damaged index".
  const [allowed] = await db.all<{ ok: boolean }>(
    `SELECT has_function_privilege('bt_index_check(regclass)', 'EXECUTE')${level === 'thorough' ? " AND has_function_privilege('verify_heapam(regclass, boolean, boolean, text, bigint, bigint)', 'EXECUTE')" : ''} AS ok`,
  );
  if (!allowed?.ok)
    return {
      checked: false,
      problems: [],
      why: "this role may not run amcheck's functions (GRANT EXECUTE ON FUNCTION bt_index_check(regclass), verify_heapam(...) TO it, as a superuser)",
    };
  const problems: string[] = [];
  const indexes = await db.all<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND a.amname = 'btree'`,
  );
  for (const { name } of indexes) {
    try {
      await db.all('SELECT bt_index_check(?::regclass)', [`public."${name}"`]);
    } catch (error) {
      problems.push(`index ${name}: ${(error as Error).message}`);
    }
  }
  if (level === 'thorough') {
    const tables = await db.tableNames();
    for (const table of tables) {
      const rows = await db.all<{ blkno: number; msg: string }>('SELECT blkno, msg FROM verify_heapam(?::regclass)', [`public."${table}"`]);
      for (const row of rows.slice(0, 5)) problems.push(`table ${table}, block ${row.blkno}: ${row.msg}`);
    }
  }
  return {
    checked: true,
    problems,
    why: `${indexes.length} B-tree indexes checked${level === 'thorough' ? ', every table heap verified' : ''}`,
  };
}

/** `?` placeholders as PostgreSQL's `$1, $2, …`, outside quoted text. */
export function numbered(sql: string): string {
  let n = 0;
  let quote: string | null = null;
  let out = '';
  for (const c of sql) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '?') {
      n += 1;
      out += `$${n}`;
      continue;
    }
    out += c;
  }
  return out;
}

function pgError(where: string, error: unknown): TrimpError {
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  switch (e.code) {
    case '28P01':
    case '28000':
      return new TrimpError('database-auth', `PostgreSQL at ${where} refused the login: ${message}`, {
        remedy: 'check the password in PGPASSWORD, target.database_password_file or ~/.pgpass (never in the URL)',
      });
    case '3D000':
      return new TrimpError('database-missing', `PostgreSQL at ${where}: ${message}`, {
        remedy: 'check the database name in target.database',
      });
    case '42P01':
      return new TrimpError('database-schema', `PostgreSQL at ${where}: ${message}`, {
        remedy: 'check that target.database points at the TRIMP app database',
      });
    case '57014':
      return new TrimpError(
        'database-busy',
        `PostgreSQL at ${where}: a statement ran past ${STATEMENT_TIMEOUT_MS / 1000} s and was cancelled`,
        {
          remedy: 'something holds a lock on the table: look at pg_stat_activity, then retry',
        },
      );
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return new TrimpError('database-unreachable', `PostgreSQL at ${where} cannot be reached (${e.code})`, {
        remedy: 'check that the server runs and target.database names its host and port',
      });
  }
  if (/client password must be a string/.test(message))
    return new TrimpError(
      'database-auth',
      `no password for PostgreSQL at ${where}: none in target.database_password_file, PGPASSWORD or ~/.pgpass`,
      {
        exitCode: ExitCode.usage,
        remedy: 'give it in one of those three (a file, mode 0600, is best)',
      },
    );
  if (/Connection terminated|connection.*(closed|ended)|terminating connection/i.test(message))
    return new TrimpError('database-unreachable', `PostgreSQL at ${where} went away mid-statement (${message})`, {
      remedy: 'check that the server runs; what was changed before is in the journal (flag restore --run puts it back)',
    });
  if (/timeout/i.test(message))
    return new TrimpError('database-unreachable', `PostgreSQL at ${where} did not answer in time (${message})`, {
      remedy: 'check that the server runs and target.database names its host and port',
    });
  return new TrimpError('database-error', `PostgreSQL at ${where}: ${message}`);
}

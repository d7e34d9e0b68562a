import { existsSync } from 'node:fs';
import { TrimpError, usageError } from '../errors.js';

/** One object of the schema, as hashed for "the schema is what it was". */
export interface SchemaObject {
  type: string;
  name: string;
  sql: string | null;
}

/** An engine's own corruption check: what it found, or that it could not check (and why). */
export interface IntegrityResult {
  checked: boolean;
  problems: string[];
  /** What was checked, or why nothing could be. */
  why: string;
}

/**
 * The database behind the app, as the CLI sees it: SQLite (a file) or PostgreSQL (a URL). SQL is
 * written with `?` placeholders and portable statements; what only an engine knows (its tables,
 * its schema, its corruption check) is asked of the adapter.
 */
export interface SqlDatabase {
  readonly kind: 'sqlite' | 'postgres';
  /** The file, or the server and database (never a password). */
  readonly location: string;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Runs `work` in one write transaction; it commits only if `work` resolves. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  tableNames(): Promise<string[]>;
  /** Tables, columns, indexes as the engine states them, in a stable order. */
  schemaObjects(): Promise<SchemaObject[]>;
  /** quick: SQLite's quick_check, PostgreSQL's index check; thorough: integrity_check, every heap too. */
  integrity(level: 'quick' | 'thorough'): Promise<IntegrityResult>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Readers open read-only: such a connection never checkpoints the WAL into the main file. */
  readonly: boolean;
  busyTimeoutMs?: number;
}

export async function openSqlite(path: string, options: OpenOptions): Promise<SqlDatabase> {
  if (!existsSync(path)) {
    throw usageError('database-missing', `database file not found: ${path}`, 'check target.database (or --database)');
  }
  const { default: Database } = await import('better-sqlite3');
  let db: import('better-sqlite3').Database;
  try {
    db = new Database(path, { readonly: options.readonly, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
    db.pragma('schema_version'); // touch the header: a file that is not a database fails here, not later
  } catch (error) {
    throw sqlError(path, error);
  }
  const guard = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw sqlError(path, error);
    }
  };
  return {
    kind: 'sqlite',
    location: path,
    async all<T>(sql: string, params: readonly unknown[] = []) {
      return guard(() => db.prepare(sql).all(...params) as T[]);
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return guard(() => ({ changes: db.prepare(sql).run(...params).changes }));
    },
    async transaction<T>(work: () => Promise<T>) {
      guard(() => db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await work();
        guard(() => db.exec('COMMIT'));
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    async tableNames() {
      return guard(() =>
        (
          db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
            name: string;
          }[]
        ).map((t) => t.name),
      );
    },
    async schemaObjects() {
      return guard(
        () =>
          db
            .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .all() as SchemaObject[],
      );
    },
    async integrity(level) {
      const pragma = level === 'quick' ? 'quick_check(20)' : 'integrity_check(20)';
      const messages = guard(() =>
        (db.prepare(`PRAGMA ${pragma}`).all() as Record<string, string>[]).map((r) => String(Object.values(r)[0])),
      );
      const ok = messages.length === 1 && messages[0] === 'ok';
      return { checked: true, problems: ok ? [] : messages, why: `PRAGMA ${pragma.replace('(20)', '')}` };
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

function sqlError(path: string, error: unknown): TrimpError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code ?? '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new TrimpError('database-corrupt', `${path} is not a usable SQLite database (${message})`, {
      remedy: 'check the file; the database scenario restores a verified backup',
    });
  }
  if (code === 'SQLITE_BUSY') {
    return new TrimpError('database-busy', `${path} is locked by another process (${message})`, {
      remedy: 'retry, or stop the process that holds the write lock',
    });
  }
  const missingTable = /no such table: (\S+)/.exec(message);
  if (missingTable) {
    return new TrimpError('database-schema', `${path} has no table ${missingTable[1]}`, {
      remedy: 'check that target.database points at the TRIMP app database',
    });
  }
  return new TrimpError('database-error', `${path}: ${message}`);
}

import { existsSync } from 'node:fs';
import { TrimpError, usageError } from '../errors.js';

/**
 * The database behind the app, as the CLI sees it. SQL is written with `?` placeholders and
 * portable statements so that a PostgreSQL adapter can implement the same interface later.
 */
export interface SqlDatabase {
  readonly kind: 'sqlite';
  readonly location: string;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Runs `work` in one write transaction; it commits only if `work` resolves. */
  transaction<T>(work: () => Promise<T>): Promise<T>;
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

import { existsSync, rmSync } from 'node:fs';
import { usageError } from '../errors.js';

/**
 * A copy of a real database for a game day, made with SQLite's online backup API (a `cp` of a
 * live WAL database is not a copy), then given what the sandbox needs (flag table, user types).
 */
export async function importDatabase(source: string, target: string): Promise<void> {
  if (!existsSync(source)) throw usageError('db-from-missing', `database to copy not found: ${source}`);
  const { default: Database } = await import('better-sqlite3');
  let from: import('better-sqlite3').Database;
  try {
    from = new Database(source, { readonly: true, fileMustExist: true });
    from.pragma('schema_version');
  } catch (error) {
    throw usageError(
      'db-from-invalid',
      `${source} is not a readable SQLite database (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
  try {
    // One read transaction over the whole copy: concurrent commits cannot restart it.
    from.exec('BEGIN');
    from.prepare('SELECT count(*) FROM sqlite_master').get(); // take the read snapshot now
    await from.backup(target, { progress: () => 1 << 30 });
    from.exec('COMMIT');
  } finally {
    from.close();
  }
  const { createSchema } = await import('./schema.js');
  const db = new Database(target);
  try {
    createSchema(db, true);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}

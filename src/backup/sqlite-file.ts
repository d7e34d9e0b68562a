import { readdirSync, statSync } from 'node:fs';
import { COUNTED_TABLES, newestActivity, schemaHash } from '../checks/baseline.js';
import { messageOf, TrimpError } from '../errors.js';
import { openSqlite, type SqlDatabase } from '../target/database.js';

/** What a backup's manifest records about the database inside it, read from the file itself. */
export interface SqliteFacts {
  page_size: number;
  page_count: number;
  journal_mode: string;
  user_version: number;
  schema_hash: string;
  /** The key tables that exist, counted. */
  row_counts: Record<string, number>;
  newest_activity: string | null;
  max_activity_id: number | null;
  sqlite_version: string;
}

export type CheckDepth = 'quick' | 'integrity';

/**
 * Opens the file read-write but writes nothing: a read-only connection that closes last leaves
 * `-wal`/`-shm` files behind (SQLITE-NOTES), a read-write one removes them and leaves the
 * database's bytes as they were.
 */
export async function withSqliteFile<T>(path: string, work: (db: SqlDatabase) => Promise<T>, options: { live?: boolean } = {}): Promise<T> {
  // A file at rest (a backup, a staged or kept copy) has no -wal/-journal of its own: SQLite
  // would replay one into it on open, and the bytes hashed would no longer be the bytes checked.
  const side = sizeOf(`${path}-wal`) + sizeOf(`${path}-journal`);
  if (!options.live && side > 0)
    throw new TrimpError('database-side-files', `${path} has a non-empty -wal or -journal beside it: opening it would change it`, {
      remedy: 'something else opened and wrote it; do not use it until you know what did',
    });
  const db = await openSqlite(path, { readonly: false, busyTimeoutMs: 0 });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

export async function readFacts(db: SqlDatabase): Promise<SqliteFacts> {
  const pragma = async <T>(name: string) => (await db.all<Record<string, T>>(`PRAGMA ${name}`))[0]?.[name] as T;
  const tables = (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")).map((t) => t.name);
  const row_counts: Record<string, number> = {};
  for (const table of COUNTED_TABLES.filter((t) => tables.includes(t))) {
    const [row] = await db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
    row_counts[table] = row?.n ?? 0;
  }
  const hasActivities = tables.includes('activities');
  const [max] = hasActivities ? await db.all<{ id: number | null }>('SELECT MAX(activity_id) AS id FROM activities') : [];
  const [version] = await db.all<{ v: string }>('SELECT sqlite_version() AS v');
  return {
    page_size: await pragma<number>('page_size'),
    page_count: await pragma<number>('page_count'),
    journal_mode: await pragma<string>('journal_mode'),
    user_version: await pragma<number>('user_version'),
    schema_hash: await schemaHash(db),
    row_counts,
    newest_activity: hasActivities ? await newestActivity(db) : null,
    max_activity_id: max?.id ?? null,
    sqlite_version: version?.v ?? 'unknown',
  };
}

/** `PRAGMA quick_check` (or the slower, complete `integrity_check`): ["ok"] or the problems found. */
export async function checkIntegrity(db: SqlDatabase, depth: CheckDepth): Promise<string[]> {
  const name = depth === 'quick' ? 'quick_check' : 'integrity_check';
  const rows = await db.all<Record<string, string>>(`PRAGMA ${name}(20)`);
  // One row can hold several lines: each problem is one message ("*** in database main ***" is a heading).
  return rows
    .flatMap((row) => String(Object.values(row)[0]).split('\n'))
    .filter((line) => line && !/^\*\*\* in database \w+ \*\*\*$/.test(line));
}

export const isOk = (messages: string[]) => messages.length === 1 && messages[0] === 'ok';

/** "ok", or the first problem and how many more: one line for a summary. */
export function describeCheck(messages: string[]): string {
  if (isOk(messages)) return 'ok';
  const [first, ...rest] = messages;
  return `${first ?? 'no answer'}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}`;
}

/**
 * Processes that hold `path` (or its -wal/-shm) open, found in /proc/PID/fd (Linux). Compared by
 * device and inode, so a process holding it under another name (a hard link) is found too.
 */
export function processesHolding(path: string): number[] {
  const wanted = new Set<string>();
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      const stat = statSync(file);
      wanted.add(`${stat.dev}:${stat.ino}`);
    } catch {
      // Not there.
    }
  }
  if (wanted.size === 0) return [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid);
  } catch {
    return [];
  }
  const holders: number[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const stat = statSync(`/proc/${pid}/fd/${fd}`);
        if (wanted.has(`${stat.dev}:${stat.ino}`)) {
          holders.push(Number(pid));
          break;
        }
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return holders;
}

export interface Settled {
  /** Bytes in the -wal file before the checkpoint (0: nothing was pending). */
  wal_bytes_before: number;
  /** How exclusive access was proven. */
  proof: string;
}

/**
 * Proves nothing else has the database open, then moves the WAL into the main file, so that the
 * file alone is the whole database. The proof is an exclusive lock taken with no wait
 * (SQLITE-NOTES: it fails while any other connection is open, even an idle reader); "we asked
 * the app to stop" is not proof. A file SQLite cannot open at all is checked in /proc instead.
 */
export async function settleExclusively(path: string, options: { checkpoint: boolean } = { checkpoint: true }): Promise<Settled> {
  const walBytes = sizeOf(`${path}-wal`);
  const { default: Database } = await import('better-sqlite3');
  let db: import('better-sqlite3').Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN IMMEDIATE');
    db.exec('COMMIT');
    if (options.checkpoint) {
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (result && result.busy !== 0) throw Object.assign(new Error('checkpoint busy'), { code: 'SQLITE_BUSY' });
    }
    db.close();
    db = undefined;
  } catch (error) {
    db?.close();
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) throw heldOpen(path);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      // Too damaged to lock through SQLite: the kernel's view of open files is the proof left.
      if (processesHolding(path).length > 0) throw heldOpen(path);
      return { wal_bytes_before: walBytes, proof: `SQLite cannot open it (${messageOf(error)}); no process has it open (/proc)` };
    }
    throw new TrimpError('database-error', `${path}: ${messageOf(error)}`);
  }
  const left = sizeOf(`${path}-wal`) + sizeOf(`${path}-journal`);
  if (options.checkpoint && left > 0)
    throw new TrimpError('database-unsettled', `${path}: ${left} bytes of -wal/-journal remain after the checkpoint`, {
      remedy: 'something wrote to the database meanwhile: stop it, then resume',
    });
  return { wal_bytes_before: walBytes, proof: 'exclusive lock taken with no wait: no other connection has it open' };
}

function heldOpen(path: string): TrimpError {
  const holders = processesHolding(path);
  const who = holders.length > 0 ? `pid ${holders.join(', ')}` : 'another process';
  return new TrimpError('database-in-use', `the database ${path} is still held open by ${who}: it could be written during the restore`, {
    remedy: `stop ${who}, then resume`,
  });
}

export function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

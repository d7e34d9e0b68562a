import { chmodSync, chownSync, linkSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isFile } from '../engine/files.js';
import { messageOf, TrimpError } from '../errors.js';
import { formatBytes } from '../report/format.js';
import { copyHashed, freeBytes, fsyncPath, sha256FileInWorker } from './file-io.js';
import {
  type CheckDepth,
  checkIntegrity,
  describeCheck,
  isOk,
  readFacts,
  type Settled,
  settleExclusively,
  sizeOf,
  withSqliteFile,
} from './sqlite-file.js';

/**
 * The crash-safe restore of SQLITE-NOTES, in the order that keeps the database file, at every
 * instant, either exactly the old one or exactly the backup: stage beside it, fsync, check the
 * staged bytes, prove nothing has it open, remove stale -wal/-shm, rename over it, fsync the
 * directory. The old file is kept by a hard link first (no copy, no moment without a database).
 */

const STAGE_MARK = '.trimp-stage-';

/** Staged in the database's own directory, so that the final rename is atomic. */
export function stagedPathFor(database: string, runId: string): string {
  return join(dirname(database), `.${basename(database)}${STAGE_MARK}${runId}`);
}

/** Where the replaced database is kept: beside it, named after the run that replaced it. */
export function keptPathFor(database: string, runId: string): string {
  return `${database}.pre-restore-${runId}`;
}

/** Staged copies a killed run left behind (the caller holds the target lock: none is in use). */
export function staleStagedFiles(database: string): string[] {
  const prefix = `.${basename(database)}${STAGE_MARK}`;
  try {
    return readdirSync(dirname(database))
      .filter((name) => name.startsWith(prefix))
      .map((name) => join(dirname(database), name));
  } catch {
    return [];
  }
}

export interface Kept extends KeptFacts {
  path: string;
  size: number;
  settled: Settled;
}

export interface KeptFacts {
  sha256: string;
  /** "ok", or what quick_check (or SQLite opening it) found: a damaged kept file is no undo. */
  quick_check: string;
}

/** Checkpoints the current database (so the file alone is whole), then keeps it by a hard link. */
export async function keepCurrent(database: string, runId: string): Promise<Kept> {
  const settled = await settleExclusively(database);
  const path = keptPathFor(database, runId);
  rmSync(path, { force: true }); // a link from an attempt of this run that died before journaling it
  linkSync(database, path);
  fsyncPath(dirname(database));
  return { path, size: sizeOf(path), settled, ...(await inspectKept(path)) };
}

/** Its SHA-256 (on another core) and its quick_check: what `database undo` relies on. */
export async function inspectKept(path: string): Promise<KeptFacts> {
  const hashing = sha256FileInWorker(path);
  hashing.catch(() => undefined);
  const check = await withSqliteFile(path, (db) => checkIntegrity(db, 'quick')).then(
    (messages) => describeCheck(messages),
    (error: unknown) => messageOf(error),
  );
  return { sha256: await hashing, quick_check: check };
}

/** Whether `a` and `b` are the same file (one inode under two names). */
export function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

export interface Source {
  /** The file to put in place: a verified backup, or a kept database (undo). */
  file: string;
  sha256: string;
  size: number;
  /** What its manifest promises, when it has one. */
  expect?: { page_count: number; user_version: number; schema_hash: string };
}

export interface Staged {
  path: string;
  sha256: string;
  removedStale: string[];
  check: string;
}

/** Stage, fsync, verify the staged bytes (hash while copying; quick_check or integrity_check). */
export async function stage(source: Source, database: string, runId: string, depth: CheckDepth): Promise<Staged> {
  if (!isFile(source.file))
    throw new TrimpError(
      'restore-source-missing',
      `the chosen database is gone: ${source.file} (removed after it was chosen); nothing was replaced`,
      {
        remedy: 'start a new run to choose another backup, or use the Undo line to put the database back as it was',
      },
    );
  const removedStale = staleStagedFiles(database);
  for (const path of removedStale) rmSync(path, { force: true });
  const free = freeBytes(dirname(database));
  if (free < source.size + 1024 * 1024)
    throw new TrimpError(
      'restore-no-space',
      `not enough disk to stage the restore: ${dirname(database)} has ${formatBytes(free)} free, the backup is ${formatBytes(source.size)}`,
      {
        remedy: 'free space there (nothing was changed), then resume',
      },
    );
  const path = stagedPathFor(database, runId);
  const mode = statSync(database).mode & 0o777;
  let copied: { sha256: string };
  try {
    copied = await copyHashed(source.file, path, mode);
  } catch (error) {
    rmSync(path, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new TrimpError(
        'restore-no-space',
        `the disk filled while staging the restore in ${dirname(database)}: the staged copy was removed, nothing was changed`,
        {
          remedy: 'free space there, then resume',
        },
      );
    throw error;
  }
  if (copied.sha256 !== source.sha256) {
    rmSync(path, { force: true });
    throw new TrimpError(
      'restore-source-changed',
      `the staged copy's SHA-256 differs from the verified one: ${source.file} changed while it was copied`,
      {
        remedy: 'nothing was changed: verify the backup again (trimp-rollback backup verify ID), then resume',
      },
    );
  }
  const { messages, facts } = await withSqliteFile(path, async (db) => ({
    messages: await checkIntegrity(db, depth),
    facts: await readFacts(db),
  }));
  const problems = isOk(messages) ? [] : [`${depth === 'quick' ? 'quick_check' : 'integrity_check'}: ${messages.slice(0, 3).join('; ')}`];
  if (source.expect) {
    if (facts.page_count !== source.expect.page_count)
      problems.push(`${facts.page_count} pages, the manifest says ${source.expect.page_count}`);
    if (facts.schema_hash !== source.expect.schema_hash) problems.push('its schema differs from the manifest');
    if (facts.user_version !== source.expect.user_version)
      problems.push(`user_version ${facts.user_version}, the manifest says ${source.expect.user_version}`);
  }
  if (problems.length > 0) {
    rmSync(path, { force: true });
    throw new TrimpError('restore-staged-bad', `the staged copy failed its checks: ${problems.join('; ')}`, {
      remedy: 'nothing was changed: choose another backup',
    });
  }
  return { path, sha256: copied.sha256, removedStale, check: `${depth === 'quick' ? 'quick_check' : 'integrity_check'} ok` };
}

export interface Swapped {
  removed: string[];
  proof: string;
}

/** The swap: nothing has the database open, stale side files go, one rename, the directory synced. */
export async function swapIn(staged: string, database: string): Promise<Swapped> {
  const before = statSync(database);
  const settled = await settleExclusively(database);
  const removed: string[] = [];
  for (const side of ['-wal', '-shm', '-journal']) {
    const path = `${database}${side}`;
    if (sizeOf(path) > 0 && side !== '-shm')
      throw new TrimpError('database-unsettled', `${path} is not empty: the database was written after it was settled`, {
        remedy: 'something writes to it: stop it, then resume (nothing was replaced)',
      });
    try {
      rmSync(path);
      removed.push(path);
    } catch {
      // Not there.
    }
  }
  if (process.getuid?.() === 0) chownSync(staged, before.uid, before.gid);
  chmodSync(staged, before.mode & 0o777);
  renameSync(staged, database);
  fsyncPath(dirname(database));
  return { removed, proof: settled.proof };
}

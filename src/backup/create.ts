import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { messageOf, TrimpError } from '../errors.js';
import { formatBytes, formatMs } from '../report/format.js';
import { type BackupRequest, backupFailure, backupSlot, requestRecord } from './backup-slot.js';
import { freeBytes, fsyncPath, sha256FileInWorker } from './file-io.js';
import { type Manifest, writeManifest } from './manifest.js';
import { checkIntegrity, isOk, readFacts, sizeOf, withSqliteFile } from './sqlite-file.js';

export interface CreateRequest extends BackupRequest {
  source: string;
  /** Told the share copied, 0..1. */
  onProgress?: (share: number) => void;
}

/** Pages copied per step: ~16 MiB at 4 KiB pages, so the event loop (Ctrl-C, progress) keeps turning. */
const PAGES_PER_STEP = 4096;

/**
 * An online backup through SQLite's backup API, consistent while the app writes: one read
 * transaction is held on the source for the whole copy, so other connections' commits do not
 * restart it (SQLITE-NOTES: without it, one commit a second and it never finishes). The copy is
 * written under a temporary name (mode 0600 from the first byte), checked, hashed, fsynced and
 * renamed; then its manifest is written the same way.
 */
export async function createBackup(request: CreateRequest): Promise<Manifest> {
  const started = performance.now();
  const { id, file, final, temporary } = backupSlot(request.dir, request.label, 'db');
  const needed = sizeOf(request.source) + sizeOf(`${request.source}-wal`);
  const free = freeBytes(request.dir);
  if (free < needed * 1.05 + 1024 * 1024)
    throw new TrimpError(
      'backup-no-space',
      `not enough disk for the backup: ${request.dir} has ${formatBytes(free)} free, the database needs about ${formatBytes(needed)}`,
      {
        remedy: 'free space there, prune old backups (trimp-rollback backup prune --keep N), or set backups.dir elsewhere',
      },
    );
  try {
    writeFileSync(temporary, '', { mode: 0o600, flag: 'wx' });
    await copyOnline(request, temporary, started);
    chmodSync(temporary, 0o600);
    fsyncPath(temporary);
    // Hashing on another core while quick_check reads the same file on this one.
    const hashing = sha256FileInWorker(temporary);
    hashing.catch(() => undefined); // awaited below; a failure here must not go unhandled meanwhile
    const [facts, check] = await withSqliteFile(temporary, async (db) => [await readFacts(db), await checkIntegrity(db, 'quick')] as const);
    const sha256 = await hashing;
    if (!isOk(check))
      throw new TrimpError('backup-damaged', `the copy fails quick_check: ${check.slice(0, 3).join('; ')}`, {
        remedy: 'the source database is damaged: restore a verified backup instead (trimp-rollback database)',
      });
    request.signal?.throwIfAborted();
    renameSync(temporary, final);
    fsyncPath(request.dir);
    const manifest: Manifest = {
      format: 1,
      id,
      created_at: new Date().toISOString(),
      source: request.source,
      file,
      size: sizeOf(final),
      ...facts,
      quick_check: 'ok',
      sha256,
      ...requestRecord(request, started),
    };
    writeManifest(join(request.dir, `${id}.json`), manifest);
    return manifest;
  } catch (error) {
    rmSync(temporary, { force: true });
    rmSync(`${temporary}-wal`, { force: true });
    rmSync(`${temporary}-shm`, { force: true });
    throw backupFailure(error, request.dir, {
      source: request.source,
      doing: `backing up ${basename(request.source)}`,
      diskFull: /SQLITE_FULL|disk is full/i.test(messageOf(error)),
    });
  }
}

async function copyOnline(request: CreateRequest, destination: string, started: number): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  let source: import('better-sqlite3').Database;
  try {
    source = new Database(request.source, { fileMustExist: true, timeout: 5000 });
  } catch (error) {
    throw new TrimpError('database-missing', `the database cannot be opened: ${request.source} (${messageOf(error)})`, {
      remedy: 'check target.database (or --database)',
    });
  }
  try {
    // The read transaction pins one snapshot: writers go on (into the WAL), the copy does not restart.
    source.exec('BEGIN');
    source.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    await source.backup(destination, {
      progress: ({ totalPages, remainingPages }) => {
        request.signal?.throwIfAborted();
        if (performance.now() - started > request.deadlineMs)
          throw new TrimpError('backup-deadline', `the backup did not finish within ${formatMs(request.deadlineMs)}`, {
            remedy: 'try again when the app writes less, or give more time (--deadline)',
          });
        request.onProgress?.(totalPages === 0 ? 1 : 1 - remainingPages / totalPages);
        return PAGES_PER_STEP;
      },
    });
  } finally {
    if (source.inTransaction) source.exec('COMMIT');
    source.close();
  }
}

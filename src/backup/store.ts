import { readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isProcessAlive } from '../engine/lock.js';
import { ExitCode, messageOf, TrimpError, usageError } from '../errors.js';
import { formatBytes } from '../report/format.js';
import { validateBackupId } from './backup-id.js';
import { freeBytes, sha256File, sha256FileInWorker } from './file-io.js';
import { isPostgresManifest, type Manifest, type PostgresManifest, readManifest, type SqliteManifest } from './manifest.js';
import {
  derivedName,
  dropDatabase,
  factsDiffer,
  factsOfDatabase,
  listArchive,
  type PostgresConnection,
  readWholeArchive,
  restoreArchive,
  SERVER_UNAVAILABLE,
} from './postgres-archive.js';
import { type CheckDepth, checkIntegrity, isOk, readFacts, type SqliteFacts, sizeOf, withSqliteFile } from './sqlite-file.js';

/** One backup as found on disk: complete (a manifest that parses) or not, and why. */
export interface BackupEntry {
  id: string;
  file: string;
  manifestFile: string;
  manifest: Manifest | undefined;
  /** Why it cannot be used, when it cannot. */
  problem: string | undefined;
}

export interface Verification {
  id: string;
  ok: boolean;
  /** Each check in order; the first that fails ends the verification. */
  checks: { name: string; ok: boolean; detail: string }[];
  manifest: Manifest | undefined;
}

export type VerifyDepth = 'checksum' | CheckDepth;

/** What the file holds against what its manifest says it holds. */
function sqliteFactsDiffer(manifest: SqliteManifest, facts: SqliteFacts): string[] {
  const out: string[] = [];
  if (facts.page_count !== manifest.page_count) out.push(`${facts.page_count} pages, the manifest says ${manifest.page_count}`);
  if (facts.user_version !== manifest.user_version)
    out.push(`user_version ${facts.user_version}, the manifest says ${manifest.user_version}`);
  return [...out, ...factsDiffer(manifest, facts)];
}

/** The file's SHA-256 against the manifest's, said as a check either way. */
function checksumHolds(sha256: string, manifest: Manifest, checks: Verification['checks']): boolean {
  const holds = sha256 === manifest.sha256;
  checks.push(
    holds
      ? { name: 'sha256', ok: true, detail: `matches the manifest (${sha256.slice(0, 16)}…)` }
      : {
          name: 'sha256',
          ok: false,
          detail: `SHA-256 ${sha256.slice(0, 16)}…, the manifest says ${manifest.sha256.slice(0, 16)}…: the file changed since it was taken`,
        },
  );
  return holds;
}

/** The backup directory: `<id>.db` and `<id>.json` per backup, newest id last when sorted. */
export class BackupStore {
  constructor(readonly dir: string) {}

  /** Every backup, newest first; temporary files of a backup in progress are not backups. */
  entries(): BackupEntry[] {
    const ids = new Set<string>();
    for (const name of this.names()) {
      const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.(db|dump|json)$/.exec(name);
      if (match && !match[1]?.includes('..')) ids.add(match[1] as string);
    }
    // Ids the tool makes start with their time; anything else (a stray "x.json") sorts last, never
    // as the newest backup.
    const timed = (id: string) => /^\d{8}T\d{6}\.\d{3}Z/.test(id);
    return [...ids].sort((a, b) => Number(timed(b)) - Number(timed(a)) || (a < b ? 1 : a > b ? -1 : 0)).map((id) => this.entry(id));
  }

  /** The backup with this id; an id that is not a name, or names nothing, is bad input (exit 2). */
  get(id: string): BackupEntry {
    validateBackupId(id);
    const entry = this.entry(id);
    if (!this.names().some((name) => name === `${id}.db` || name === `${id}.dump` || name === `${id}.json`))
      throw usageError('backup-unknown', `no backup ${id} in ${this.dir}`, 'see the backups there: trimp-rollback backup list');
    return entry;
  }

  /**
   * Manifest, size, SHA-256, then quick_check (or integrity_check): the first that fails ends it.
   * A PostgreSQL archive: pg_restore --list, and thoroughly a restore into a scratch database
   * (needs `server`) whose counts and schema are compared with the manifest.
   */
  async verify(entry: BackupEntry, depth: VerifyDepth, server?: PostgresConnection): Promise<Verification> {
    const checks: Verification['checks'] = [];
    const result = (ok: boolean) => ({ id: entry.id, ok, checks, manifest: entry.manifest });
    const manifest = entry.manifest;
    if (!manifest) {
      checks.push({ name: 'manifest', ok: false, detail: entry.problem ?? 'no manifest' });
      return result(false);
    }
    checks.push({ name: 'manifest', ok: true, detail: `${entry.manifestFile} parses` });
    let size: number;
    try {
      size = statSync(entry.file).size;
    } catch {
      checks.push({ name: 'file', ok: false, detail: `the database file is missing: ${entry.file}` });
      return result(false);
    }
    if (size !== manifest.size) {
      checks.push({ name: 'size', ok: false, detail: `${size} bytes, the manifest says ${manifest.size}` });
      return result(false);
    }
    checks.push({ name: 'size', ok: true, detail: `${size} bytes` });
    if (isPostgresManifest(manifest)) return this.verifyArchive(entry, manifest, depth, checks, server);
    // With a SQLite check to run too, the hash runs on another core meanwhile.
    const hashing = depth === 'checksum' ? sha256File(entry.file) : sha256FileInWorker(entry.file);
    hashing.catch(() => undefined);
    const sqlite = depth === 'checksum' ? undefined : await this.checkFile(entry.file, depth);
    if (!checksumHolds(await hashing, manifest, checks)) return result(false);
    if (!sqlite) return result(true);
    const name = depth === 'quick' ? 'quick_check' : 'integrity_check';
    if ('unchecked' in sqlite) {
      checks.push({ name, ok: false, detail: sqlite.unchecked });
      return result(false);
    }
    checks.push({ name, ok: isOk(sqlite.messages), detail: isOk(sqlite.messages) ? 'ok' : sqlite.messages.slice(0, 3).join('; ') });
    if (!isOk(sqlite.messages) || !sqlite.facts) return result(false);
    // A manifest can be rewritten with a matching checksum: what it promises is read from the file itself.
    const differences = sqliteFactsDiffer(manifest, sqlite.facts);
    checks.push({
      name: 'contents',
      ok: differences.length === 0,
      detail: differences.length === 0 ? 'rows, newest activity, pages and schema match the manifest' : differences.join('; '),
    });
    return result(differences.length === 0);
  }

  private async verifyArchive(
    entry: BackupEntry,
    manifest: PostgresManifest,
    depth: VerifyDepth,
    checks: Verification['checks'],
    server: PostgresConnection | undefined,
  ): Promise<Verification> {
    const result = (ok: boolean) => ({ id: entry.id, ok, checks, manifest });
    if (!checksumHolds(await sha256File(entry.file), manifest, checks)) return result(false);
    if (depth === 'checksum') return result(true);
    const connection = server ?? { url: 'postgres://localhost/postgres', password: undefined };
    try {
      const listed = await listArchive(entry.file, connection);
      const missing = Object.keys(manifest.row_counts).filter((t) => !listed.tables.includes(t));
      checks.push({
        name: 'pg_restore --list',
        ok: missing.length === 0,
        detail:
          missing.length === 0 ? `${listed.entries} entries, data for ${listed.tables.join(', ')}` : `no data for ${missing.join(', ')}`,
      });
      if (missing.length > 0) return result(false);
    } catch (error) {
      checks.push({ name: 'pg_restore --list', ok: false, detail: messageOf(error) });
      return result(false);
    }
    try {
      await readWholeArchive(entry.file, connection);
      checks.push({ name: 'archive read', ok: true, detail: 'every data block reads back (pg_restore to /dev/null)' });
    } catch (error) {
      checks.push({ name: 'archive read', ok: false, detail: messageOf(error) });
      return result(false);
    }
    if (depth !== 'integrity') return result(true);
    if (!server) {
      checks.push({ name: 'scratch restore', ok: false, detail: 'no PostgreSQL server to restore it into (target.database)' });
      return result(false);
    }
    // A scratch database of its own name, dropped whatever happens.
    const scratch = derivedName(manifest.database, 'verify', `${entry.id.slice(0, 20)}_${process.pid}`);
    try {
      await restoreArchive(entry.file, scratch, server);
      const differences = factsDiffer(manifest, await factsOfDatabase(server, scratch));
      checks.push({
        name: 'scratch restore',
        ok: differences.length === 0,
        detail:
          differences.length === 0
            ? `restored into ${scratch}: rows, newest activity and schema match the manifest`
            : differences.join('; '),
      });
      return result(differences.length === 0);
    } catch (error) {
      // A server that cannot take a scratch database says nothing about the archive: unchecked, not damaged.
      const unchecked = error instanceof TrimpError && error.code === SERVER_UNAVAILABLE;
      checks.push({
        name: 'scratch restore',
        ok: false,
        detail: unchecked ? `could not be checked, not found damaged: ${messageOf(error)}` : messageOf(error),
      });
      return result(false);
    } finally {
      await dropDatabase(server, scratch).catch(() => undefined);
    }
  }

  /** quick_check (or integrity_check) and the facts, in one open; a full disk is not a damaged backup. */
  private async checkFile(file: string, depth: CheckDepth): Promise<{ messages: string[]; facts?: SqliteFacts } | { unchecked: string }> {
    try {
      return await withSqliteFile(file, async (db) => ({ messages: await checkIntegrity(db, depth), facts: await readFacts(db) }));
    } catch (error) {
      // SQLite's own words for a file it could not read or a disk it could not write (-shm, -wal).
      if (/disk I\/O error|database or disk is full|unable to open database file|ENOSPC/i.test(messageOf(error))) {
        // What the failed open left beside it: an empty -wal and the -shm (nothing else opens a backup).
        if (sizeOf(`${file}-wal`) === 0) rmSync(`${file}-wal`, { force: true });
        rmSync(`${file}-shm`, { force: true });
        return {
          unchecked: `could not be checked, not found damaged: ${messageOf(error)} (is the disk holding ${this.dir} full? ${formatBytes(freeBytes(this.dir))} free)`,
        };
      }
      return { messages: [messageOf(error)] };
    }
  }

  /** Temporary files left by a backup whose process is gone. */
  leftovers(): string[] {
    return this.names()
      .filter((name) => {
        const match = /^\..+\.tmp-(\d+)(-wal|-shm|-journal)?$/.exec(name);
        return match && !isProcessAlive(Number(match[1]));
      })
      .map((name) => join(this.dir, name));
  }

  remove(entry: BackupEntry): void {
    for (const path of [entry.file, `${entry.file}-wal`, `${entry.file}-shm`, entry.manifestFile]) rmSync(path, { force: true });
  }

  private entry(id: string): BackupEntry {
    // A pg_dump archive (<id>.dump) or a SQLite file (<id>.db), whichever is there.
    const dump = join(this.dir, `${id}.dump`);
    const file = this.names().includes(`${id}.dump`) ? dump : join(this.dir, `${id}.db`);
    const manifestFile = join(this.dir, `${id}.json`);
    try {
      const manifest = readManifest(manifestFile);
      if (manifest.file !== `${id}.db` && manifest.file !== `${id}.dump`)
        return { id, file, manifestFile, manifest: undefined, problem: `its manifest names another file (${manifest.file})` };
      if (manifest.file !== basename(file)) return { id, file: join(this.dir, manifest.file), manifestFile, manifest, problem: undefined };
      if (manifest.id !== id)
        return { id, file, manifestFile, manifest: undefined, problem: `its manifest names another backup (${manifest.id})` };
      return { id, file, manifestFile, manifest, problem: undefined };
    } catch (error) {
      return { id, file, manifestFile, manifest: undefined, problem: (error as Error).message };
    }
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TrimpError('backup-dir', `the backup directory cannot be read: ${this.dir} (${(error as NodeJS.ErrnoException).code})`, {
        exitCode: ExitCode.usage,
        remedy: 'check backups.dir in the config and its permissions',
      });
    }
  }
}

import { chmodSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newestActivity, rowCounts, schemaHash } from '../checks/baseline.js';
import type { Secret } from '../config/secret.js';
import { messageOf, TrimpError } from '../errors.js';
import { formatBytes } from '../report/format.js';
import type { SqlDatabase } from '../target/database.js';
import { connectionOf, describePostgres, openPostgres } from '../target/postgres.js';
import { connectionArgs, runPostgresTool } from '../target/postgres-tools.js';
import { type BackupRequest, backupFailure, backupSlot, requestRecord } from './backup-slot.js';
import { freeBytes, fsyncPath, sha256File } from './file-io.js';
import { type PostgresManifest, writeManifest } from './manifest.js';

/**
 * PostgreSQL backups: a `pg_dump -Fc` archive of the app's database, taken inside a snapshot the
 * tool exported itself, so that the row counts, newest activity and schema hash in the manifest
 * are exactly what the archive holds, however busy the app is. Restores go into a new database.
 */

export interface PostgresConnection {
  url: string;
  password: Secret | undefined;
}

/** What a manifest records about a database, read from the database itself. */
export interface DatabaseFacts {
  schema_hash: string;
  row_counts: Record<string, number>;
  newest_activity: string | null;
  max_activity_id: number | null;
}

export async function readDatabaseFacts(db: SqlDatabase): Promise<DatabaseFacts> {
  const tables = await db.tableNames();
  const [max] = tables.includes('activities')
    ? await db.all<{ id: number | null }>('SELECT MAX(activity_id) AS id FROM activities')
    : [{ id: null }];
  return {
    schema_hash: await schemaHash(db),
    row_counts: await rowCounts(db),
    newest_activity: tables.includes('activities') ? await newestActivity(db) : null,
    max_activity_id: max?.id ?? null,
  };
}

/** The URL with another database name (the server's maintenance database, a staged one). */
export function urlOfDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function databaseNameOf(url: string): string {
  return connectionOf(url).database ?? 'postgres';
}

/** A name quoted as PostgreSQL reads identifiers. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A database name derived from the app's and a run id, within PostgreSQL's 63 bytes:
 * `training_before_20261129t031502_123z_9f3a` (lower case: unquoted, as psql users type it).
 */
export function derivedName(database: string, purpose: 'before' | 'restore' | 'verify', runId: string): string {
  // A run id is <time>-<runbook>-<4 hex>: the time to the second and the hex make it unique enough.
  const parts = /^(\d{8}T\d{6})[.\dZ]*-.*-([0-9a-f]{4})$/i.exec(runId);
  const run = (parts ? `${parts[1]}_${parts[2]}` : runId).toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const suffix = `_${purpose}_${run}`;
  return `${database.slice(0, Math.max(1, 63 - suffix.length))}${suffix}`.slice(0, 63);
}

export interface PostgresBackupRequest extends BackupRequest, PostgresConnection {}

/**
 * pg_dump -Fc into a temporary file (0600), inside an exported REPEATABLE READ snapshot whose
 * facts go into the manifest; then pg_restore --list proves the archive reads back, the file is
 * hashed, fsynced and renamed, and the manifest written beside it the same way.
 */
export async function createPostgresBackup(request: PostgresBackupRequest): Promise<PostgresManifest> {
  const started = performance.now();
  const { id, file, final, temporary } = backupSlot(request.dir, request.label, 'dump');
  const db = await openPostgres(request.url, { readonly: true, password: request.password });
  try {
    const [size] = await db.all<{ bytes: number }>('SELECT pg_database_size(current_database()) AS bytes');
    const free = freeBytes(request.dir);
    // A custom-format archive is compressed: half the database's size is a generous bound.
    const needed = Math.round((size?.bytes ?? 0) / 2);
    if (free < needed + 1024 * 1024)
      throw new TrimpError(
        'backup-no-space',
        `not enough disk for the backup: ${request.dir} has ${formatBytes(free)} free, the archive of a ${formatBytes(size?.bytes ?? 0)} database needs about ${formatBytes(needed)}`,
        { remedy: 'free space there, prune old backups (trimp-rollback backup prune --keep N), or set backups.dir elsewhere' },
      );
    writeFileSync(temporary, '', { mode: 0o600, flag: 'wx' });
    const [version] = await db.all<{ server_version: string }>('SHOW server_version');
    const facts = await db.transaction(async () => {
      await db.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const [snapshot] = await db.all<{ id: string }>('SELECT pg_export_snapshot() AS id');
      const read = await readDatabaseFacts(db);
      // pg_dump reads the very snapshot the facts were read in: they describe the archive exactly.
      await runPostgresTool(
        'pg_dump',
        ['--format=custom', `--snapshot=${snapshot?.id}`, '--file', temporary, ...connectionArgs(request.url)],
        {
          url: request.url,
          password: request.password,
          timeoutMs: request.deadlineMs,
          ...(request.signal ? { signal: request.signal } : {}),
        },
      );
      return read;
    });
    chmodSync(temporary, 0o600);
    fsyncPath(temporary);
    const listed = await listArchive(temporary, request);
    const sha256 = await sha256File(temporary);
    const dumpVersion = (await runPostgresTool('pg_dump', ['--version'], { ...request, timeoutMs: 10_000 })).stdout.trim();
    request.signal?.throwIfAborted();
    renameSync(temporary, final);
    fsyncPath(request.dir);
    const manifest: PostgresManifest = {
      format: 1,
      engine: 'postgres',
      id,
      created_at: new Date().toISOString(),
      source: describePostgres(request.url),
      database: databaseNameOf(request.url),
      file,
      size: statSync(final).size,
      ...facts,
      server_version: version?.server_version ?? 'unknown',
      pg_dump_version: dumpVersion,
      archive_check: `pg_restore --list: ${listed.entries} entries, tables ${listed.tables.join(', ')}`,
      sha256,
      ...requestRecord(request, started),
    };
    writeManifest(join(request.dir, `${id}.json`), manifest);
    return manifest;
  } catch (error) {
    rmSync(temporary, { force: true });
    throw backupFailure(error, request.dir, { source: describePostgres(request.url), doing: 'backing up the PostgreSQL database' });
  } finally {
    await db.close();
  }
}

/** `pg_restore --list`: the archive's table of contents reads back whole (no server needed). */
export async function listArchive(file: string, connection: PostgresConnection): Promise<{ entries: number; tables: string[] }> {
  const listed = await runPostgresTool('pg_restore', ['--list', file], { ...connection, timeoutMs: 120_000, on: `reading ${file}` });
  const lines = listed.stdout.split('\n').filter((line) => /^\d+;/.test(line));
  const tables = lines.flatMap((line) => {
    const match = / TABLE DATA \S+ (\S+) /.exec(line);
    return match ? [match[1] as string] : [];
  });
  return { entries: lines.length, tables: tables.sort() };
}

/**
 * Every block of the archive read and decompressed, its SQL written to /dev/null (no server
 * needed): a truncated or altered data block fails here, where --list reads only the contents.
 */
export async function readWholeArchive(file: string, connection: PostgresConnection): Promise<void> {
  await runPostgresTool('pg_restore', ['--file', '/dev/null', file], { ...connection, timeoutMs: 3_600_000, on: `reading ${file}` });
}

/**
 * The archive into a new, empty database `database` (created from template1, owned by the
 * connecting role): objects without their owners and grants (the restoring role owns them), and
 * without the extensions, which are the server's (amcheck comes from template1). Stops at the first
 * error; a database left by an earlier, interrupted attempt of the same name is dropped first.
 */
export async function restoreArchive(file: string, database: string, connection: PostgresConnection, signal?: AbortSignal): Promise<void> {
  try {
    await dropDatabase(connection, database);
    await maintenance(connection, (db) => db.run(`CREATE DATABASE ${quoteIdentifier(database)} TEMPLATE template1`));
  } catch (error) {
    // Nothing was restored yet: the server or the role is the problem, not the archive.
    throw new TrimpError(SERVER_UNAVAILABLE, `no database could be created to restore into: ${messageOf(error)}`);
  }
  const list = await runPostgresTool('pg_restore', ['--list', file], { ...connection, timeoutMs: 120_000 });
  const wanted = list.stdout
    .split('\n')
    .filter((line) => !/^\d+;.* (EXTENSION|COMMENT - EXTENSION) /.test(line))
    .join('\n');
  // Beside nothing of the operator's: a read-only backups directory must not stop a restore.
  const listDir = mkdtempSync(join(tmpdir(), 'trimp-restore-'));
  const listFile = join(listDir, 'toc.list');
  writeFileSync(listFile, wanted, { mode: 0o600 });
  try {
    await runPostgresTool(
      'pg_restore',
      ['--exit-on-error', '--no-owner', '--no-acl', '--use-list', listFile, ...connectionArgs(connection.url, database), file],
      { ...connection, url: urlOfDatabase(connection.url, database), timeoutMs: 3_600_000, ...(signal ? { signal } : {}) },
    );
  } finally {
    rmSync(listDir, { recursive: true, force: true });
  }
}

/** The code of a restore that could not begin (no server, no permission to create a database). */
export const SERVER_UNAVAILABLE = 'restore-server-unavailable';

/** DROP DATABASE IF EXISTS, ending its sessions first (WITH FORCE). */
export async function dropDatabase(connection: PostgresConnection, database: string): Promise<void> {
  await maintenance(connection, (db) => db.run(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`));
}

/** Which of these databases exist on the server. */
export async function existingDatabases(connection: PostgresConnection, names: string[]): Promise<string[]> {
  return maintenance(connection, async (db) =>
    (await db.all<{ datname: string }>('SELECT datname FROM pg_database')).map((r) => r.datname).filter((n) => names.includes(n)),
  );
}

/**
 * Work on the server's maintenance database (`postgres`): creating, renaming and dropping
 * databases cannot be done from inside the database concerned.
 */
export async function maintenance<T>(connection: PostgresConnection, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
  const db = await openPostgres(urlOfDatabase(connection.url, 'postgres'), { readonly: false, password: connection.password });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** The facts of another database on the same server (a staged restore, a scratch verify). */
export async function factsOfDatabase(connection: PostgresConnection, database: string): Promise<DatabaseFacts> {
  const db = await openPostgres(urlOfDatabase(connection.url, database), { readonly: true, password: connection.password });
  try {
    return await readDatabaseFacts(db);
  } finally {
    await db.close();
  }
}

/** What a database holds against what a manifest says the archive holds. */
export function factsDiffer(manifest: DatabaseFacts, facts: DatabaseFacts): string[] {
  const out: string[] = [];
  if (facts.schema_hash !== manifest.schema_hash) out.push('its schema is not the one the manifest names');
  for (const table of new Set([...Object.keys(manifest.row_counts), ...Object.keys(facts.row_counts)]))
    if (facts.row_counts[table] !== manifest.row_counts[table])
      out.push(`${table}: ${facts.row_counts[table] ?? 'missing'} rows, the manifest says ${manifest.row_counts[table] ?? 'nothing'}`);
  if (facts.newest_activity !== manifest.newest_activity)
    out.push(`newest activity ${facts.newest_activity}, the manifest says ${manifest.newest_activity}`);
  if (facts.max_activity_id !== manifest.max_activity_id)
    out.push(`highest activity id ${facts.max_activity_id}, the manifest says ${manifest.max_activity_id}`);
  return out;
}

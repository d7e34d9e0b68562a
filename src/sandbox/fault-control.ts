import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { isProcessAlive } from '../engine/lock.js';
import { TrimpError, usageError } from '../errors.js';
import type { UserType } from '../target/user-types.js';
import { readState, readStates, restartSandbox, sandboxStatus } from './control.js';
import { activeFaults, databaseReplaced, type FaultName, type FaultState, readFaults, writeFaults } from './faults.js';
import { type SandboxLayout, type SandboxState, sandboxLayout } from './layout.js';
import { checkoutCommit, commitRelease, headCommit } from './release.js';
import { openSandboxStore } from './store.js';
import { readSandboxProfile } from './trainingmonkey/schema.js';

export interface BreakOptions {
  share?: number;
  /** trimp-errors: only these cohorts (a gradual rollback then recovers at their stage). */
  userTypes?: UserType[];
  ms?: number;
  defect?: 'health' | 'trimp';
}

/** Injects a fault into the sandbox in `dir`; returns the symptom an operator would see. */
export async function breakSandbox(dir: string, fault: FaultName, options: BreakOptions = {}): Promise<FaultState> {
  const layout = sandboxLayout(dir);
  const faults = forgetReplacedDatabase(layout.database, readFaults(layout.root));
  const since = new Date().toISOString();
  const status = sandboxStatus(dir);
  switch (fault) {
    case 'trimp-errors':
      faults['trimp-errors'] = { share: options.share ?? 0.5, since, ...(options.userTypes ? { user_types: options.userTypes } : {}) };
      break;
    case 'slow':
      faults.slow = { ms: options.ms ?? 400, since };
      break;
    case 'bad-migration': {
      if (faults['bad-migration']) throw usageError('fault-active', 'bad-migration is already injected; heal it first');
      faults['bad-migration'] = { since, rows: await damageTrimpValues(layout) };
      break;
    }
    case 'stale-flags': {
      const instances = readStates(layout).filter((s) => s.instance !== undefined);
      if (instances.length < 2)
        throw usageError('fault-unsupported', 'stale-flags needs several instances', 'start the sandbox with --instances 2');
      faults['stale-flags'] = { since, instance: Math.max(...instances.map((s) => s.instance as number)) };
      break;
    }
    case 'corrupt-db': {
      if (faults['corrupt-db']) throw usageError('fault-active', 'corrupt-db is already injected; heal it first');
      if (existsSync(layout.engineFile))
        throw usageError(
          'fault-unsupported',
          "corrupt-db damages pages of the sandbox's SQLite file; this sandbox's database is on PostgreSQL, where it is not built yet",
          'rehearse the database scenario on the SQLite sandbox (without --engine postgres)',
        );
      faults['corrupt-db'] = { since, pages: await corruptPages(layout.database), inode: statSync(layout.database).ino };
      faults.db_generation = (faults.db_generation ?? 0) + 1;
      break;
    }
    case 'bad-deploy': {
      if (faults['bad-deploy']) throw usageError('fault-active', 'bad-deploy is already injected; heal it first');
      const previous = headCommit(layout.appDir);
      const defect = options.defect ?? 'health';
      commitRelease(layout.appDir, { version: '1.2.0', enhanced_trimp: true, schema: 1, defect }, `release 1.2.0 (defect: ${defect})`);
      faults['bad-deploy'] = { since, previous_commit: previous, defect };
      writeFaults(layout.root, faults);
      if (status.running && status.base_url) await restartSandbox(dir, Number(new URL(status.base_url).port), status.traffic ?? 0);
      return faults;
    }
    case 'crash': {
      const state = readState(layout);
      if (!status.running || !state) throw usageError('sandbox-not-running', `no sandbox runs in ${layout.root}; nothing to crash`);
      faults.crash = { since, port: state.port };
      writeFaults(layout.root, faults);
      process.kill(state.pid, 'SIGKILL'); // no clean-up: the PID file stays behind, as after a real crash
      return faults;
    }
  }
  writeFaults(layout.root, faults);
  await waitUntilApplied(dir, faults);
  return faults;
}

/**
 * The app picks up faults.json within a tenth of a second; wait until it says so (its dashboard
 * lists the faults it applies), so that the symptom is there when this returns.
 */
async function waitUntilApplied(dir: string, faults: FaultState): Promise<void> {
  const layout = sandboxLayout(dir);
  if (!sandboxStatus(dir).running) return;
  // Every instance: a fault one of them has not picked up yet is not there for a test to find.
  for (const state of readStates(layout).filter((s) => isProcessAlive(s.pid))) await waitUntilInstanceApplied(layout, state, faults);
}

async function waitUntilInstanceApplied(layout: ReturnType<typeof sandboxLayout>, state: SandboxState, faults: FaultState): Promise<void> {
  const want = JSON.stringify({ faults: activeFaults(faults).filter((f) => f !== 'crash'), generation: faults.db_generation ?? 0 });
  // The public app's dashboard always fails: its sandbox says what it applies at a path of its own.
  const url = readSandboxProfile(layout.root) ? `${state.base_url}/sandbox/faults` : `${state.base_url}/api/admin/monitoring/dashboard`;
  const headers: Record<string, string> = readSandboxProfile(layout.root)
    ? {}
    : { authorization: `Bearer ${readFileSync(layout.tokenFile, 'utf8').trim()}` };
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(url, { headers });
      const body = (await response.json()) as { active_faults?: string[]; db_generation?: number };
      if (JSON.stringify({ faults: body.active_faults, generation: body.db_generation }) === want) return;
    } catch {
      // Restarting: try again.
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  throw new TrimpError('fault-not-applied', `the sandbox at ${state.base_url} did not pick up the fault change within 3 s`);
}

/** Clears one fault or all of them, undoing exactly what `breakSandbox` did. */
export async function healSandbox(dir: string, fault?: FaultName): Promise<FaultName[]> {
  const layout = sandboxLayout(dir);
  const faults = readFaults(layout.root);
  const healed: FaultName[] = [];
  const wants = (name: FaultName) => (fault === undefined || fault === name) && faults[name] !== undefined;
  let restartPort: number | undefined;

  if (wants('trimp-errors')) {
    delete faults['trimp-errors'];
    healed.push('trimp-errors');
  }
  if (wants('slow')) {
    delete faults.slow;
    healed.push('slow');
  }
  const migration = faults['bad-migration'];
  if (wants('bad-migration') && migration) {
    await writeTrimpValues(layout, migration.rows);
    delete faults['bad-migration'];
    healed.push('bad-migration');
  }
  if (wants('stale-flags')) {
    delete faults['stale-flags'];
    healed.push('stale-flags');
  }
  const corrupt = faults['corrupt-db'];
  if (wants('corrupt-db') && corrupt) {
    // Written back only into the file that was damaged: a restored database must not get old bytes.
    if (!databaseReplaced(layout.database, corrupt)) restorePages(layout.database, corrupt.pages);
    delete faults['corrupt-db'];
    faults.db_generation = (faults.db_generation ?? 0) + 1;
    healed.push('corrupt-db');
  }
  const deploy = faults['bad-deploy'];
  if (wants('bad-deploy') && deploy) {
    checkoutCommit(layout.appDir, deploy.previous_commit);
    delete faults['bad-deploy'];
    healed.push('bad-deploy');
    const status = sandboxStatus(dir);
    if (status.running && status.base_url) restartPort = Number(new URL(status.base_url).port);
  }
  const crash = faults.crash;
  if (wants('crash') && crash) {
    delete faults.crash;
    healed.push('crash');
    if (!sandboxStatus(dir).running) restartPort = crash.port;
  }
  writeFaults(layout.root, faults);
  if (restartPort !== undefined) await restartSandbox(dir, restartPort, readState(layout)?.traffic ?? 0);
  await waitUntilApplied(dir, faults);
  return healed;
}

function forgetReplacedDatabase(database: string, faults: FaultState): FaultState {
  const corrupt = faults['corrupt-db'];
  if (corrupt && databaseReplaced(database, corrupt)) delete faults['corrupt-db'];
  return faults;
}

const PAGE_HEADER = 100;

/**
 * Real damage: random bytes over the first b-tree page of `activities` and a few pages spread
 * over the file, after moving the WAL's pages into the main file (damage hidden behind a newer
 * WAL copy would not be seen). The original bytes are kept so that `heal` can put them back.
 */
async function corruptPages(path: string): Promise<{ offset: number; original: string }[]> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path, { fileMustExist: true, timeout: 5000 });
  let pageSize: number;
  let pageCount: number;
  let roots: number[];
  try {
    for (let attempt = 0; ; attempt++) {
      const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (result?.busy === 0) break;
      if (attempt > 50) throw usageError('corrupt-busy', 'could not checkpoint the WAL (the app keeps a read open)');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    pageSize = db.pragma('page_size', { simple: true }) as number;
    pageCount = db.pragma('page_count', { simple: true }) as number;
    // The table and its indexes: COUNT(*) reads the smallest index, and /health must see the damage.
    roots = (
      db.prepare("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'activities' AND rootpage > 0").all() as { rootpage: number }[]
    ).map((r) => r.rootpage);
  } finally {
    db.close();
  }
  const pages = [...roots, Math.floor(pageCount * 0.3), Math.floor(pageCount * 0.6), Math.floor(pageCount * 0.9)].filter((p) => p > 1);
  const fd = openSync(path, 'r+');
  try {
    return [...new Set(pages)].map((page) => {
      // Keep the page's first bytes (on page 1, the file header) so the file still opens.
      const offset = (page - 1) * pageSize + (page === 1 ? PAGE_HEADER : 0);
      const original = Buffer.alloc(pageSize - (page === 1 ? PAGE_HEADER : 0));
      readSync(fd, original, 0, original.length, offset);
      writeSync(fd, randomBytes(original.length), 0, original.length, offset);
      return { offset, original: original.toString('base64') };
    });
  } finally {
    fsyncSync(fd);
    closeSync(fd);
  }
}

function restorePages(path: string, pages: { offset: number; original: string }[]): void {
  const fd = openSync(path, 'r+');
  try {
    for (const page of pages) {
      const bytes = Buffer.from(page.original, 'base64');
      writeSync(fd, bytes, 0, bytes.length, page.offset);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A migration that got its units wrong: TRIMP × 60 on up to 100 recent activities (even ids), the old values recorded. */
async function damageTrimpValues(layout: SandboxLayout): Promise<{ activity_id: number; trimp: number }[]> {
  const store = await openSandboxStore(layout);
  try {
    const rows = await store.all<{ activity_id: number; trimp: number }>(
      'SELECT activity_id, trimp FROM activities WHERE trimp IS NOT NULL AND trimp > 0 AND activity_id % 2 = 0 ORDER BY activity_id DESC LIMIT 100',
    );
    for (const row of rows)
      await store.all('UPDATE activities SET trimp = ? WHERE activity_id = ? RETURNING activity_id', [row.trimp * 60, row.activity_id]);
    return rows.map((r) => ({ activity_id: Number(r.activity_id), trimp: Number(r.trimp) }));
  } finally {
    await store.close();
  }
}

async function writeTrimpValues(layout: SandboxLayout, rows: { activity_id: number; trimp: number }[]): Promise<void> {
  const store = await openSandboxStore(layout);
  try {
    for (const row of rows)
      await store.all('UPDATE activities SET trimp = ? WHERE activity_id = ? RETURNING activity_id', [row.trimp, row.activity_id]);
  } finally {
    await store.close();
  }
}

/**
 * How many of the activities a bad migration damaged still hold a damaged value (0 once restored
 * or healed), and how many are gone (newer than the backup a restore brought back).
 */
export async function stillDamaged(
  dir: string,
  upToId = Number.POSITIVE_INFINITY,
): Promise<{ damaged: number; missing: number; of: number }> {
  const layout = sandboxLayout(dir);
  // After a restore, ids above the backup's highest are given out again to new activities: only
  // the rows the backup held can be judged.
  const rows = (readFaults(layout.root)['bad-migration']?.rows ?? []).filter((r) => r.activity_id <= upToId);
  if (rows.length === 0) return { damaged: 0, missing: 0, of: 0 };
  const store = await openSandboxStore(layout);
  try {
    const now = await store.all<{ activity_id: number; trimp: number }>(
      `SELECT activity_id, trimp FROM activities WHERE activity_id IN (${rows.map(() => '?').join(', ')})`,
      rows.map((r) => r.activity_id),
    );
    const byId = new Map(now.map((r) => [Number(r.activity_id), Number(r.trimp)]));
    const present = rows.filter((r) => byId.has(r.activity_id));
    return {
      damaged: present.filter((r) => byId.get(r.activity_id) !== r.trimp).length,
      missing: rows.length - present.length,
      of: rows.length,
    };
  } finally {
    await store.close();
  }
}

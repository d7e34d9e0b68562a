import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Manifest } from '../backup/manifest.js';
import { checkedBy, takeBackup } from '../backup/take.js';
import { registerSecret, Secret } from '../config/secret.js';
import type { RunResult } from '../engine/result.js';
import { messageOf } from '../errors.js';
import type { SandboxInfo } from '../sandbox/control.js';
import type { BreakOptions } from '../sandbox/fault-control.js';
import { healSandbox, stillDamaged } from '../sandbox/fault-control.js';
import type { FaultName } from '../sandbox/faults.js';
import type { AdminApi } from '../target/admin-api.js';
import { openSqlite } from '../target/database.js';
import { dryRunGate } from '../target/flag-store.js';
import { apiFlagStore } from '../target/flag-store-api.js';
import { readHealth } from '../target/health.js';
import { isPostgresUrl, openPostgres } from '../target/postgres.js';
import { ENHANCED_TRIMP_FLAG, type FlagStates, USER_TYPES } from '../target/user-types.js';

export interface Prepared {
  text: string;
  data?: unknown;
}

/** What a game day's proof may look at once the rollback ran. */
export interface Proving {
  dir: string;
  sandbox: SandboxInfo;
  api: AdminApi;
  prepared: Prepared | undefined;
  result: RunResult;
}

/** Each scenario of the seed's decision matrix, the fault it exists for, and how to rehearse it. */
export interface GameDay {
  /** The scenario it rehearses (`rehearse NAME` runs every game day of that scenario). */
  scenario: string;
  fault: FaultName;
  /** How the fault is injected (trimp-errors on some cohorts only). */
  faultOptions?: BreakOptions;
  /** What differs from a real run, said before the run and under the scorecard (shortened windows). */
  note?: string;
  /** The scenario's runbook. */
  runbook: string;
  inputs: Record<string, unknown>;
  /** Before the fault: what the scenario needs to exist (a backup, taken under live traffic). */
  prepare?: (dir: string, sandbox: SandboxInfo, signal: AbortSignal) => Promise<Prepared>;
  /** After the run, beyond an error-free window of traffic: the scenario's own proof. */
  prove?: (proving: Proving) => Promise<{ ok: boolean; text: string }>;
  /**
   * What the incident looks like when users see no errors (damaged data): found by reading the
   * sandbox, not the traffic. Without it, the symptom is errors in live traffic or a failing /health.
   */
  symptom?: (dir: string) => Promise<{ ok: boolean; text: string }>;
  /** What differs on a PostgreSQL sandbox (another fault, another runbook). */
  postgres?: Partial<Pick<GameDay, 'fault' | 'runbook' | 'note' | 'symptom'>>;
}

/** The game day as it runs on this engine. */
export function gameDayOn(gameDay: GameDay, engine: 'sqlite' | 'postgres'): GameDay {
  return engine === 'postgres' && gameDay.postgres ? { ...gameDay, ...gameDay.postgres } : gameDay;
}

/**
 * The gradual game days' windows: long enough for every cohort to send its minimum number of
 * requests at the rehearsal's traffic (admin, the smallest share, sends about 50), short enough
 * for a game day. The seed's are 15 minutes, sampled every 30 s.
 */
const REHEARSAL_WINDOW = { window: '6s', interval: '1s' };
const SHORTENED = `windows shortened for the rehearsal: ${REHEARSAL_WINDOW.window}, sampled every ${REHEARSAL_WINDOW.interval} (a real run: 15m, every 30s)`;

export const GAME_DAYS: Record<string, GameDay> = {
  flag: { scenario: 'flag', fault: 'trimp-errors', runbook: 'flag', inputs: { states: { admin: false, beta: false, regular: false } } },
  'gradual-regular': {
    scenario: 'gradual',
    fault: 'trimp-errors',
    faultOptions: { userTypes: ['regular'] },
    runbook: 'gradual',
    inputs: REHEARSAL_WINDOW,
    note: `the fault hits regular users only; ${SHORTENED}`,
    prove: (p) => provesStages(p, ['recovered'], { regular: false, beta: true, admin: true }),
  },
  'gradual-every-cohort': {
    scenario: 'gradual',
    fault: 'trimp-errors',
    runbook: 'gradual',
    inputs: REHEARSAL_WINDOW,
    note: `the fault hits every cohort; ${SHORTENED}`,
    prove: (p) => provesStages(p, ['failing', 'failing', 'recovered'], { regular: false, beta: false, admin: false }),
  },
  application: {
    scenario: 'application',
    fault: 'bad-deploy',
    runbook: 'application',
    inputs: {},
  },
  database: {
    scenario: 'database',
    fault: 'corrupt-db',
    runbook: 'database',
    inputs: {},
    prepare: backupUnderTraffic,
    prove: restoredDatabaseHolds,
    // Damaged pages are a file's fault: on PostgreSQL the data is damaged by a bad migration instead.
    postgres: {
      fault: 'bad-migration',
      runbook: 'database-postgres',
      note: 'on PostgreSQL the fault is a bad migration (TRIMP values ×60), found in the data, not in the traffic',
      symptom: damagedByMigration,
    },
  },
};

/** The sandbox's config keeps backups in ./backups; the backup is taken while simulated users write. */
async function backupUnderTraffic(dir: string, sandbox: SandboxInfo, signal: AbortSignal): Promise<Prepared> {
  await sleep(1000, undefined, { signal }); // let the simulated users write for a moment first
  const manifest = await takeBackup({
    database: sandbox.database,
    password: sandboxPassword(sandbox),
    dir: join(dir, 'backups'),
    label: 'game-day',
    deadlineMs: 120_000,
    signal,
  });
  return {
    text: `backup ${manifest.id} taken under live traffic in ${manifest.duration_ms} ms (${manifest.row_counts.activities ?? 0} activities, ${checkedBy(manifest)})`,
    data: manifest,
  };
}

/** The sandbox's PostgreSQL password (its file), when its database is on PostgreSQL. */
function sandboxPassword(sandbox: SandboxInfo): Secret | undefined {
  if (!sandbox.database_password_file) return undefined;
  const secret = new Secret(readFileSync(sandbox.database_password_file, 'utf8').trim(), 'the sandbox database password file');
  registerSecret(secret);
  return secret;
}

/** The bad migration's symptom: activities whose stored TRIMP is not what it was. */
async function damagedByMigration(dir: string): Promise<{ ok: boolean; text: string }> {
  const { damaged, of } = await stillDamaged(dir);
  return { ok: damaged > 0, text: `${damaged} of ${of} activities hold a TRIMP value a bad migration multiplied by 60` };
}

/**
 * PASSED only when the restored database passes its engine's complete check (integrity_check, or
 * amcheck on every index and heap), the app answers /health, every activity written before the
 * backup is there, and no value a bad migration damaged is left.
 */
async function restoredDatabaseHolds({ dir, sandbox, api, prepared }: Proving) {
  const manifest = prepared?.data as Manifest | undefined;
  if (!manifest) return { ok: false, text: 'no backup was taken before the fault' };
  const problems: string[] = [];
  let migration = { damaged: 0, missing: 0, of: 0 };
  try {
    const db = isPostgresUrl(sandbox.database)
      ? await openPostgres(sandbox.database, { readonly: true, password: sandboxPassword(sandbox) })
      : await openSqlite(sandbox.database, { readonly: true });
    try {
      const [row] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM activities WHERE activity_id <= ?', [
        manifest.max_activity_id ?? 0,
      ]);
      const integrity = await db.integrity('thorough');
      if (!integrity.checked || integrity.problems.length > 0)
        problems.push(`${integrity.why}${integrity.problems.length ? `: ${integrity.problems.slice(0, 2).join('; ')}` : ''}`);
      const before = manifest.row_counts.activities ?? 0;
      if ((row?.n ?? 0) !== before) problems.push(`${row?.n ?? 0} of the ${before} activities written before the backup are there`);
    } finally {
      await db.close();
    }
    migration = await stillDamaged(dir, manifest.max_activity_id ?? 0);
    if (migration.damaged > 0) problems.push(`${migration.damaged} activities still hold a TRIMP value the bad migration damaged`);
  } catch (error) {
    problems.push(`the restored database cannot be read: ${messageOf(error)}`);
  }
  const health = await readHealth(api).catch((error: unknown) => ({ healthy: false, problem: messageOf(error) }));
  if (!health.healthy) problems.push(`/health answered ${health.problem}`);
  if (problems.length > 0) return { ok: false, text: problems.join('; ') };
  // The damage went with the replaced file: forget the fault (heal writes nothing into a restored file).
  await healSandbox(dir, 'corrupt-db');
  return {
    ok: true,
    text: `${isPostgresUrl(sandbox.database) ? 'amcheck (indexes and heaps)' : 'integrity_check'} ok, /health healthy, all ${manifest.row_counts.activities ?? 0} activities from before the backup present${migration.of > 0 ? `, and none of the ${migration.of} damaged activities the backup held is still wrong` : ''}`,
  };
}

/**
 * PASSED only when the metrics decided each window as expected (by evidence, not by a person or
 * --fast), and the flag ends where that decision leaves it: the cohorts after the recovered
 * stage still enabled.
 */
async function provesStages(p: Proving, expected: string[], flags: FlagStates): Promise<{ ok: boolean; text: string }> {
  const windows = p.result.steps.filter((s) => s.action === 'monitor' && s.evidence?.decision);
  // A window counts only when the metrics decided it (not a person, not --fast).
  const got = windows.map((s) =>
    s.evidence?.decided_by === 'evidence' ? String(s.evidence?.decision) : `${s.evidence?.decision} by ${s.evidence?.decided_by}`,
  );
  const decisions = windows.map((s, i) => `${s.id} ${got[i]}`);
  const problems: string[] = [];
  if (got.join(',') !== expected.join(','))
    problems.push(`the windows decided ${got.join(', ') || 'nothing'}; expected ${expected.join(', ')}`);
  const states = await readFlagStates(p.api);
  const wrong = USER_TYPES.filter((type) => states[type] !== flags[type]);
  if (wrong.length > 0)
    problems.push(`flag ${wrong.map((t) => `${t}=${states[t]}`).join(', ')} (expected ${wrong.map((t) => `${t}=${flags[t]}`).join(', ')})`);
  const text = `${decisions.join(', ')}; flag ${USER_TYPES.map((t) => `${t} ${states[t] ? 'on' : 'off'}`).join(', ')}`;
  return problems.length ? { ok: false, text: `${text}: ${problems.join('; ')}` } : { ok: true, text };
}

/** The flag as the app reports it (read-only: the store's write gate is closed). */
function readFlagStates(api: AdminApi): Promise<FlagStates> {
  return apiFlagStore(api, dryRunGate).read(ENHANCED_TRIMP_FLAG);
}

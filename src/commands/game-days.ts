import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBackup } from '../backup/create.js';
import type { Manifest } from '../backup/manifest.js';
import { checkIntegrity, isOk, withSqliteFile } from '../backup/sqlite-file.js';
import { messageOf } from '../errors.js';
import type { SandboxInfo } from '../sandbox/control.js';
import { healSandbox } from '../sandbox/fault-control.js';
import type { FaultName } from '../sandbox/faults.js';
import type { AdminApi } from '../target/admin-api.js';

export interface Prepared {
  text: string;
  data?: unknown;
}

/** Each scenario of the seed's decision matrix, the fault it exists for, and how to rehearse it. */
export interface GameDay {
  fault: FaultName;
  /** The runbook, once the scenario exists. */
  runbook?: string;
  inputs: Record<string, unknown>;
  /** Before the fault: what the scenario needs to exist (a backup, taken under live traffic). */
  prepare?: (dir: string, sandbox: SandboxInfo, signal: AbortSignal) => Promise<Prepared>;
  /** After the run, beyond an error-free window of traffic: the scenario's own proof. */
  prove?: (dir: string, sandbox: SandboxInfo, api: AdminApi, prepared: Prepared | undefined) => Promise<{ ok: boolean; text: string }>;
}

export const GAME_DAYS: Record<string, GameDay> = {
  flag: { fault: 'trimp-errors', runbook: 'flag', inputs: { states: { admin: false, beta: false, regular: false } } },
  gradual: { fault: 'trimp-errors', inputs: {} },
  application: { fault: 'bad-deploy', runbook: 'application', inputs: {} },
  database: {
    fault: 'corrupt-db',
    runbook: 'database',
    inputs: {},
    prepare: backupUnderTraffic,
    prove: restoredDatabaseHolds,
  },
};

/** The sandbox's config keeps backups in ./backups; the backup is taken while simulated users write. */
async function backupUnderTraffic(dir: string, sandbox: SandboxInfo, signal: AbortSignal): Promise<Prepared> {
  await sleep(1000, undefined, { signal }); // let the simulated users write for a moment first
  const manifest = await createBackup({
    source: sandbox.database,
    dir: join(dir, 'backups'),
    label: 'game-day',
    deadlineMs: 120_000,
    signal,
  });
  return {
    text: `backup ${manifest.id} taken under live traffic in ${manifest.duration_ms} ms (${manifest.row_counts.activities ?? 0} activities, quick_check ok)`,
    data: manifest,
  };
}

/**
 * PASSED only when the restored database passes integrity_check, the app answers /health, and
 * every activity written before the backup is there.
 */
async function restoredDatabaseHolds(dir: string, sandbox: SandboxInfo, api: AdminApi, prepared: Prepared | undefined) {
  const manifest = prepared?.data as Manifest | undefined;
  if (!manifest) return { ok: false, text: 'no backup was taken before the fault' };
  const problems: string[] = [];
  try {
    const { integrity, kept } = await withSqliteFile(
      sandbox.database,
      async (db) => {
        const [row] = await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM activities WHERE activity_id <= ?', [
          manifest.max_activity_id ?? 0,
        ]);
        return { integrity: await checkIntegrity(db, 'integrity'), kept: row?.n ?? 0 };
      },
      { live: true },
    );
    if (!isOk(integrity)) problems.push(`integrity_check: ${integrity.slice(0, 2).join('; ')}`);
    const before = manifest.row_counts.activities ?? 0;
    if (kept !== before) problems.push(`${kept} of the ${before} activities written before the backup are there`);
  } catch (error) {
    problems.push(`the restored database cannot be read: ${messageOf(error)}`);
  }
  const health = await api.get('health').catch((error: unknown) => ({ status: 0, body: { status: messageOf(error) } }));
  const status = (health.body as { status?: string } | undefined)?.status;
  if (health.status !== 200 || status !== 'healthy') problems.push(`/health answered ${health.status} ${String(status)}`);
  if (problems.length > 0) return { ok: false, text: problems.join('; ') };
  // The damage went with the replaced file: forget the fault (heal writes nothing into a restored file).
  await healSandbox(dir, 'corrupt-db');
  return {
    ok: true,
    text: `integrity_check ok, /health healthy, all ${manifest.row_counts.activities ?? 0} activities from before the backup present`,
  };
}

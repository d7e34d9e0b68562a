import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserType } from '../target/user-types.js';

/**
 * The failures each scenario of the seed's decision matrix exists for. The running app reads
 * the runtime ones (trimp-errors, slow) from `faults.json`; the others are done to it from the
 * outside (damaged pages, a bad release, a killed process) and recorded there so that `heal`
 * can undo them exactly.
 */
export const FAULTS = {
  'trimp-errors': {
    symptom: 'a share of enhanced (stream) TRIMP calculations fail with HTTP 500; error rate and error.log spike',
    cure: 'flag or gradual rollback: the errors stop once the flag is off for the affected users',
  },
  slow: {
    symptom: 'enhanced TRIMP calculations take hundreds of milliseconds; p95/p99 latency rise in the metrics',
    cure: 'flag rollback (decision matrix: performance degradation)',
  },
  'corrupt-db': {
    symptom: 'database pages are damaged: /health answers 503, integrity checks fail, reads of activities error',
    cure: 'database rollback: restore a verified backup',
  },
  'bad-deploy': {
    symptom: 'a new release (a commit in the app directory) starts but fails /health (or answers wrong TRIMP)',
    cure: 'application rollback: deploy the previous commit',
  },
  crash: {
    symptom: 'the app process is gone: connection refused, a stale PID file',
    cure: 'application rollback, or restart the app',
  },
  'bad-migration': {
    symptom:
      'a migration damaged data: the TRIMP values of up to 100 recent activities were multiplied by 60 (stored values no longer match their heart rates)',
    cure: 'database rollback: restore the backup taken before the migration',
  },
  'stale-flags': {
    symptom: 'with several instances, the last one keeps serving the flag states it had (a stale in-process cache)',
    cure: 'restart that instance (a flag change made meanwhile is not verified until every instance serves it)',
  },
} as const;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

export interface FaultState {
  /** `user_types`: only these cohorts' calculations fail (all of them when absent). */
  'trimp-errors'?: { share: number; since: string; user_types?: UserType[] };
  slow?: { ms: number; since: string };
  /** `inode`: the damaged file; once a restore replaced it, the damage (and its heal) no longer apply. */
  'corrupt-db'?: { since: string; pages: { offset: number; original: string }[]; inode?: number };
  'bad-deploy'?: { since: string; previous_commit: string; defect: 'health' | 'trimp' };
  crash?: { since: string; port: number };
  /** The damaged activities and their TRIMP values before the migration (heal writes them back). */
  'bad-migration'?: { since: string; rows: { activity_id: number; trimp: number }[] };
  /** This instance answers with the flags as they were when it first saw the fault. */
  'stale-flags'?: { since: string; instance: number };
  /** Bumped to make the app reopen its database (it must see damage, not its page cache). */
  db_generation?: number;
}

export function faultsFile(dir: string): string {
  return join(dir, 'faults.json');
}

export function readFaults(dir: string): FaultState {
  try {
    return JSON.parse(readFileSync(faultsFile(dir), 'utf8')) as FaultState;
  } catch {
    return {};
  }
}

/** Written whole and renamed into place, so the app never reads half a file. */
export function writeFaults(dir: string, state: FaultState): void {
  const path = faultsFile(dir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function activeFaults(state: FaultState): FaultName[] {
  return FAULT_NAMES.filter((name) => state[name] !== undefined);
}

/** A database restored over the damaged one (another inode) is not damaged: its record is stale. */
export function databaseReplaced(database: string, corrupt: NonNullable<FaultState['corrupt-db']>): boolean {
  try {
    return corrupt.inode !== undefined && corrupt.inode !== statSync(database).ino;
  } catch {
    return false;
  }
}

import type { ProfileName, TargetConfig } from '../../config/config.js';
import type { AdminApi } from '../admin-api.js';
import type { LogFormat } from '../app-log-reader.js';
import type { SqlDatabase } from '../database.js';
import type { FlagStore, WriteGate } from '../flag-store.js';
import type { SystemMetrics } from '../metrics.js';
import type { Target, Via } from '../target.js';
import type { FlagStates, UserType } from '../user-types.js';

/** One thing the tool does on this app, and how (or that it cannot): shown in plans before anything runs. */
export interface Capability {
  what: string;
  how: string;
}

/** An endpoint the api-endpoints check asks, and the answer it must give on this app. */
export interface Endpoint {
  path: string;
  /** What a working endpoint answers (200); for a broken one, what the released app answers. */
  expect: number;
  /** Why it is broken in the released app: not asked (each call would add an error line to its log), said in the evidence. */
  knownBroken?: string;
}

/** The app's TRIMP for one sample of one user, against the tool's own value. */
export interface TrimpAnswer {
  userId: number;
  ok: boolean;
  /** What was compared: "stream 119.57", or "activity 1001: enhanced 119.57, average 117.94". */
  answer: string;
  problem?: string;
  /** The app's answer in its own terms, for the evidence (the seed's: method and TRIMP, and what was expected). */
  details?: Record<string, unknown>;
}

/** An activity whose stored TRIMP is recomputed from its stored inputs. */
export interface StoredActivity {
  activity_id: number;
  user_type: UserType;
  duration_minutes: number;
  avg_heart_rate: number;
  trimp: number;
  trimp_calculation_method: string;
  trimp_processed_at: string | null;
  resting_hr: number | null;
  max_hr: number | null;
  gender: string | null;
  /** The newest heart-rate stream: JSON text (SQLite, TEXT columns) or the array (PostgreSQL JSONB). */
  hr_data: string | unknown[] | null;
}

/**
 * What differs between the apps the tool can roll back: the seed's contract (the sandbox serves
 * it) and the public app as deployed (trainingmonkey). Actions and checks ask the target's
 * profile; none of them branches on its name.
 */
export interface AppProfile {
  readonly name: ProfileName;
  /** What the tool can do on this app; plans, dry runs and prompts show it. */
  capabilities(config: TargetConfig, via: Via): Capability[];
  /** Why the flag cannot be changed on this app, and what works instead; undefined when it can. */
  flagChangeRefusal(config: TargetConfig, via: Via): { reason: string; instead: string } | undefined;
  /** The flag as the app's admin API reads and sets it. */
  apiFlagStore(api: AdminApi, gate: WriteGate): FlagStore;
  /** The flag in the database, for when the app is down (undefined: this app keeps no flag there). */
  dbFlagStore(open: (options: { readonly: boolean }) => Promise<SqlDatabase>, location: string, gate: WriteGate): FlagStore | undefined;
  /** How the app writes a log line. */
  readonly logFormat: LogFormat;
  /** Tables the app cannot run without. */
  readonly expectedTables: readonly string[];
  readonly endpoints: readonly Endpoint[];
  /** A request a user makes, asked of one instance: does it answer? */
  userReach(view: Target, signal: AbortSignal): Promise<{ ok: boolean; text: string; evidence: Record<string, unknown> }>;
  /**
   * The app's TRIMP for one user, `samples` times or over `samples` activities, each judged
   * against the tool's own computation; `enhanced`: the method the flag selects for the user now.
   */
  appTrimp(view: Target, userId: number, enhanced: boolean, samples: number, signal: AbortSignal): Promise<TrimpAnswer[]>;
  /** What trimp-app-answer says it compared, for its summary. */
  readonly appTrimpSource: string;
  /** The newest activities with a computed TRIMP and their inputs. */
  storedActivities(db: SqlDatabase, limit: number): Promise<StoredActivity[]>;
  /** When the flag went off per user type (undefined: the app keeps no such record: flags are in code). */
  flagChanges(db: SqlDatabase): Promise<{ user_type: string; enabled: boolean; updated_at: string }[] | undefined>;
  /** Users' requests over the last `windowS` seconds on the whole app (every instance). */
  metrics(target: Target, windowS: number, signal?: AbortSignal): Promise<SystemMetrics>;
  /** The same, as one instance served them (the whole app, when the app records no instance). */
  instanceMetrics(view: Target, windowS: number, signal?: AbortSignal): Promise<SystemMetrics>;
  /** Where metrics come from, for plans and evidence. */
  readonly metricsSource: string;
}

export type { FlagStates };

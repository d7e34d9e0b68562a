import type { Thresholds } from '../checks/check.js';
import type { Config, TargetConfig } from '../config/config.js';
import type { Secret } from '../config/secret.js';
import { type Channel, channelFor } from '../notify/channels.js';
import { AdminApi } from './admin-api.js';
import { type OpenOptions, openSqlite, type SqlDatabase } from './database.js';
import { dryRunGate, type FlagStore, openGate } from './flag-store.js';
import { apiFlagStore } from './flag-store-api.js';
import { dbFlagStore } from './flag-store-db.js';
import { type Instance, instancesOf } from './instances.js';
import { isPostgresUrl, openPostgres } from './postgres.js';

export type Via = 'api' | 'db';

/** The system being rolled back, as the actions reach it. */
export interface Target {
  readonly config: TargetConfig;
  readonly via: Via;
  readonly api: AdminApi;
  readonly flags: FlagStore;
  readonly token: Secret | undefined;
  /** A dry run: every write is refused at the gate. */
  readonly dryRun: boolean;
  /** What the validation checks accept as normal for this target. */
  readonly thresholds: Thresholds;
  /** How the target's users are told about a rollback that affects them (notify.users). */
  readonly userChannels: Channel[];
  /** Every instance of the app (one unless target.instances names several). */
  readonly instances: Instance[];
  /** The same target seen through one instance: its admin API and base URL (the flag's state stays the target's). */
  onInstance(instance: Instance): Target;
  openDatabase(options: OpenOptions): Promise<SqlDatabase>;
  close(): Promise<void>;
}

/** `dryRun` closes the write gate: adapters refuse any write, whatever an action asks. */
export function connectTarget(config: Config, via: Via, options: { dryRun: boolean }): Target {
  const gate = options.dryRun ? dryRunGate : openGate;
  const openDatabase = (open: OpenOptions) => {
    if (!open.readonly) gate.verifyWritable(`open ${config.target.database} for writing`);
    return isPostgresUrl(config.target.database)
      ? openPostgres(config.target.database, { ...open, password: config.target.databasePassword })
      : openSqlite(config.target.database, open);
  };
  const instances = instancesOf(config.target.instances);
  // One client per instance, made when first asked for and closed with the target.
  const apis = new Map<number, AdminApi>();
  const apiOf = (instance: Instance) => {
    let api = apis.get(instance.number);
    if (!api) {
      api = new AdminApi(instance.baseUrl, config.token, config.target.httpTimeoutMs);
      apis.set(instance.number, api);
    }
    return api;
  };
  // The flag's state, as every view of the target reads it: the database's, or the first instance's
  // answer. An instance is judged against it, never against its own (possibly stale) view.
  const flags =
    via === 'db' ? dbFlagStore(openDatabase, config.target.database, gate) : apiFlagStore(apiOf(instances[0] as Instance), gate);
  const view = (instance: Instance): Target => {
    const api = apiOf(instance);
    return {
      config: { ...config.target, baseUrl: instance.baseUrl },
      via,
      api,
      flags,
      token: config.token,
      thresholds: config.thresholds,
      userChannels: config.notify.users.map(channelFor),
      dryRun: options.dryRun,
      instances,
      onInstance: view,
      openDatabase,
      close: async () => {
        await flags.close();
        for (const client of apis.values()) client.close();
      },
    };
  };
  return view(instances[0] as Instance);
}

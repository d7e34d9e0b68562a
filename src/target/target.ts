import type { Thresholds } from '../checks/check.js';
import type { Config, TargetConfig } from '../config/config.js';
import type { Secret } from '../config/secret.js';
import { isTrimpError, messageOf, TrimpError } from '../errors.js';
import { type Channel, channelFor } from '../notify/channels.js';
import { AdminApi } from './admin-api.js';
import { type AppLogReader, appLogReader } from './app-log-reader.js';
import { type OpenOptions, openSqlite, type SqlDatabase } from './database.js';
import { dryRunGate, type FlagStore, openGate } from './flag-store.js';
import { type Instance, instancesOf } from './instances.js';
import { isPostgresUrl, openPostgres } from './postgres.js';
import { type AppProfile, profileNamed } from './profiles/index.js';

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
  /** Which app this is (target.profile): what differs between the seed's contract and the public app. */
  readonly profile: AppProfile;
  /** The app's log lines (target.logs, or the seed's files under target.logs_dir). */
  readonly logs: AppLogReader;
  /** Logs in to every instance (an app with session login): a wrong password fails here, before any step. */
  signIn(): Promise<void>;
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
  const profile = profileNamed(config.target.profile);
  const logs = appLogReader(config.target.logs, config.target.logsDir, profile.logFormat);
  // One client per instance, made when first asked for and closed with the target.
  const apis = new Map<number, AdminApi>();
  const apiOf = (instance: Instance) => {
    let api = apis.get(instance.number);
    if (!api) {
      api = new AdminApi(instance.baseUrl, config.token, config.target.httpTimeoutMs, config.target.login);
      apis.set(instance.number, api);
    }
    return api;
  };
  // The flag's state, as every view of the target reads it: the database's, or the first instance's
  // answer. An instance is judged against it, never against its own (possibly stale) view.
  const flags =
    via === 'db'
      ? (profile.dbFlagStore(openDatabase, config.target.database, gate) ?? flagsNotInDatabase(config.target.database))
      : profile.apiFlagStore(apiOf(instances[0] as Instance), gate);
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
      profile,
      logs,
      signIn: async () => {
        for (const instance of instances) await apiOf(instance).signIn();
      },
      openDatabase,
      close: async () => {
        await flags.close();
        for (const client of apis.values()) client.close();
      },
    };
  };
  return view(instances[0] as Instance);
}

/** An app that keeps its flags in code has none in the database to read or set (--via db). */
function flagsNotInDatabase(location: string): FlagStore {
  const refuse = (): never => {
    throw new TrimpError('flags-in-code', `${location} holds no flags: this app sets them in code (target.profile: trainingmonkey)`, {
      remedy: 'read them through the app (--via api)',
    });
  };
  return {
    via: 'db',
    location,
    read: async () => refuse(),
    set: async () => refuse(),
    evaluate: async () => refuse(),
    close: async () => {},
  };
}

/**
 * Logs in before anything runs. A refused password (or none) ends the command here; a login the
 * app could not answer is said and the run goes on (it is the app's outage, not the operator's).
 */
export async function signInFirst(target: Target): Promise<string | undefined> {
  try {
    await target.signIn();
    return undefined;
  } catch (error) {
    if (isTrimpError(error) && (error.code === 'login-refused' || error.code === 'password-missing')) {
      await target.close();
      throw error;
    }
    return `could not log in to the app now (${messageOf(error)}): the steps that need its admin API log in when they run`;
  }
}

import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../checks/check.js';
import { fileSystemError, TrimpError, usageError } from '../errors.js';
import { isPostgresUrl } from '../target/postgres.js';
import { SEED_SAMPLE_USERS, type UserType } from '../target/user-types.js';
import { parseDuration } from './duration.js';
import { escalationSchema, type NotifySettings, notifySchema, notifySettingsOf } from './notify-config.js';
import { registerSecret, Secret } from './secret.js';
import { formatIssue, loadYaml, readSourceFile, SourceError } from './yaml-file.js';

/** Where the system being rolled back lives. Paths are absolute once loaded. */
export interface TargetConfig {
  /** The first instance: what single-instance commands (status, the admin API's flag writes) talk to. */
  baseUrl: string;
  /**
   * Every instance of the app (target.instances; default: the one base URL). Flag verification,
   * health and the user-facing checks ask each of them; the application scenario restarts each.
   */
  instances: string[];
  database: string;
  appDir: string;
  logsDir: string;
  sampleUsers: Record<UserType, number>;
  httpTimeoutMs: number;
  /** "bearer": admin calls carry the token (the seed's app); "none": the app has no admin token. */
  auth: 'bearer' | 'none';
  /** How the app process is stopped and started; absent when the config does not say. */
  app: AppProcessConfig | undefined;
  /** A PostgreSQL target's password (PGPASSWORD or target.database_password_file); ~/.pgpass is read by the driver. */
  databasePassword: Secret | undefined;
  /** Which app this is: the seed's contract (the sandbox) or the public app as deployed (target.profile). */
  profile: ProfileName;
  /** The admin login of an app with session login (the trainingmonkey profile); the password is a secret. */
  login: AdminLogin | undefined;
  /** Where the app's log lines are read: a file, or a command's output (target.logs); else logs_dir's files. */
  logs: LogSource | undefined;
  /**
   * Whether the app's flag toggle changes anything: "persists" (the seed's) or "placeholder" (the
   * public app's answers 200 and persists nothing). Default: the profile's.
   */
  flagToggle: 'persists' | 'placeholder';
}

export type ProfileName = 'seed' | 'trainingmonkey';
export const PROFILE_NAMES: readonly ProfileName[] = ['seed', 'trainingmonkey'];

/** target.login: who the tool logs in as; the password comes from TRIMP_ADMIN_PASSWORD or a file. */
export interface AdminLogin {
  email: string;
  password: Secret | undefined;
}

/** target.logs: a file the app's output is captured in, or a command that prints it (no shell). */
export type LogSource = ({ file: string } | { command: string[] }) & {
  /** The zone the app stamps its lines in, when they carry none: "local" (default), "UTC", "+09:00". */
  timezone?: string;
};

/** `target.app`: the app's process, as the database and application scenarios control it. */
export interface AppProcessConfig {
  /** argv, run without a shell. With several instances, {port} and {instance} are filled in for each. */
  start: string[];
  pidFile: string;
  stopGraceMs: number;
  healthDeadlineMs: number;
}

/** Where a setting came from: printed commands repeat what the command line or environment gave. */
export type Provenance = 'flag' | 'env' | 'file' | 'default';

export interface Config {
  /** The config file that was read, if any. */
  file: string | undefined;
  stateDir: string;
  /** Where verified database backups live (backups.dir, default <state_dir>/backups). */
  backupsDir: string;
  target: TargetConfig;
  token: Secret | undefined;
  thresholds: Thresholds;
  /** Channels told about a run, how often, and the escalation levels (the seed's three by default). */
  notify: NotifySettings;
  sources: { stateDir: Provenance; baseUrl: Provenance; database: Provenance; token: Provenance; tokenFile: string | undefined };
  /** Things the operator should know (loose permissions), said once before a run. */
  warnings: string[];
}

/** Options every command accepts; they win over the environment and the file. */
export interface ConfigFlags {
  config?: string;
  baseUrl?: string;
  database?: string;
  stateDir?: string;
  tokenFile?: string;
  /** Do not pick up ./trimp-rollback.yaml: resume and restore use the run's own settings. */
  ignoreLocalConfig?: boolean;
  /** The command never calls the admin API (backups): a missing token file is not its problem. */
  withoutToken?: boolean;
}

export const DEFAULT_CONFIG_NAME = 'trimp-rollback.yaml';

/** Where runs and the lock live when nothing says otherwise. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.XDG_STATE_HOME ?? resolve(homedir(), '.local/state'), 'trimp-rollback');
}

// Bounded numbers: a value that passes the schema must also work (a timeout of 10^14 ms does not).
const ms = (max: number) => z.number().int().positive().max(max).optional();
const rate = z.number().positive().max(1).optional();
const validationSchema = z
  .object({
    check_timeout_ms: ms(600_000),
    error_rate_warn: rate,
    error_rate_fail: rate,
    latency_p95_ms: ms(600_000),
    latency_p99_ms: ms(600_000),
    log_errors_warn: z.number().int().positive().max(1_000_000).optional(),
    log_errors_fail: z.number().int().positive().max(1_000_000).optional(),
    disk_free_min_bytes: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 53)
      .optional(),
    memory_free_min_bytes: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 53)
      .optional(),
    load_per_core_max: z.number().positive().max(10_000).optional(),
    stored_sample: z.number().int().positive().max(100_000).optional(),
    min_error_window_s: z.number().nonnegative().max(3600).optional(),
    min_requests: z.number().int().nonnegative().max(1_000_000).optional(),
    trimp_samples: z.number().int().positive().max(1000).optional(),
  })
  .strict();

const durationText = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration such as 10s or 2m')
  .refine((text) => parseDuration(text) > 0 && parseDuration(text) <= 3_600_000, 'between 1 ms and 1 h');

/** target.logs.timezone: where the app's log stamps are (Python's asctime carries no zone). */
const logZone = z
  .string()
  .regex(/^(local|UTC|[+-](0\d|1[0-4]):[0-5]\d)$/, 'local, UTC, or an offset such as +09:00')
  .optional();

const appSchema = z
  .object({
    start: z.array(z.string().min(1).max(4096)).min(1).max(256),
    pid_file: z.string().min(1).max(4096),
    stop_grace: durationText.optional(),
    health_deadline: durationText.optional(),
  })
  .strict();

const fileSchema = z
  .object({
    state_dir: z.string().min(1).max(4096).optional(),
    backups: z
      .object({ dir: z.string().min(1).max(4096).optional() })
      .strict()
      .optional(),
    validation: validationSchema.optional(),
    notify: notifySchema.optional(),
    escalation: escalationSchema.optional(),
    target: z
      .object({
        base_url: z.url().max(2048).optional(),
        /** Several instances of the app sharing the database: each one's base URL. */
        instances: z.array(z.url().max(2048)).min(1).max(64).optional(),
        database: z.string().min(1).max(4096).optional(),
        /** A PostgreSQL target's password: a file (mode 0600). PGPASSWORD and ~/.pgpass work too. */
        database_password_file: z.string().min(1).max(4096).optional(),
        app_dir: z.string().min(1).max(4096).optional(),
        logs_dir: z.string().min(1).max(4096).optional(),
        token_file: z.string().min(1).max(4096).optional(),
        auth: z.enum(['bearer', 'none']).optional(),
        profile: z.enum(['seed', 'trainingmonkey']).optional(),
        login: z
          .object({ email: z.string().min(3).max(320), password_file: z.string().min(1).max(4096).optional() })
          .strict()
          .optional(),
        logs: z
          .union([
            z.object({ file: z.string().min(1).max(4096), timezone: logZone }).strict(),
            z.object({ command: z.array(z.string().min(1).max(4096)).min(1).max(256), timezone: logZone }).strict(),
          ])
          .optional(),
        flag_toggle: z.enum(['persists', 'placeholder']).optional(),
        app: appSchema.optional(),
        http_timeout_ms: ms(600_000),
        sample_users: z
          .object({
            admin: z
              .number()
              .int()
              .positive()
              .max(2 ** 31),
            beta: z
              .number()
              .int()
              .positive()
              .max(2 ** 31),
            regular: z
              .number()
              .int()
              .positive()
              .max(2 ** 31),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
type ConfigFile = z.output<typeof fileSchema>;

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const file = configFilePath(flags, env, cwd);
  const fromFile = file ? readConfigFile(file) : {};
  const fileDir = file ? dirname(file) : cwd;
  const fromFileDir = (p: string | undefined) => (p === undefined ? undefined : resolve(fileDir, p));
  const fromCwd = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  const t = fromFile.target ?? {};
  const provenance = (flag: unknown, fromEnv: unknown, inFile: unknown): Provenance =>
    flag !== undefined ? 'flag' : fromEnv !== undefined ? 'env' : inFile !== undefined ? 'file' : 'default';

  // Precedence: flags > environment > config file > the seed's defaults.
  // A base URL named on the command line or in the environment is one instance, on its own.
  const named = flags.baseUrl ?? env.TRIMP_BASE_URL;
  const instances = named !== undefined ? [named] : (t.instances ?? [t.base_url ?? 'http://localhost:8080']);
  const urlSource =
    flags.baseUrl !== undefined
      ? '--base-url'
      : env.TRIMP_BASE_URL !== undefined
        ? 'TRIMP_BASE_URL'
        : `target.instances in ${file ?? 'the config'}`;
  for (const url of instances) verifyUrl(url, urlSource);
  const baseUrl = instances[0] as string;
  if (named === undefined && t.base_url !== undefined && t.instances !== undefined && !t.instances.includes(t.base_url))
    throw usageError(
      'config-invalid',
      `target.base_url ${t.base_url} is not one of target.instances`,
      'drop target.base_url (the first instance is used) or add it to target.instances',
    );
  const target: TargetConfig = {
    baseUrl,
    instances,
    database:
      databaseOf(flags.database ?? env.TRIMP_DATABASE, fromCwd) ?? databaseOf(t.database, fromFileDir) ?? resolve(cwd, 'training_data.db'),
    appDir: fromCwd(env.TRIMP_APP_DIR) ?? fromFileDir(t.app_dir) ?? resolve(cwd, 'app'),
    logsDir: fromCwd(env.TRIMP_LOGS_DIR) ?? fromFileDir(t.logs_dir) ?? resolve(cwd, 'app/logs'),
    sampleUsers: t.sample_users ?? SEED_SAMPLE_USERS,
    httpTimeoutMs: t.http_timeout_ms ?? 5000,
    auth: t.auth ?? 'bearer',
    app: t.app
      ? {
          start: t.app.start,
          pidFile: resolve(fileDir, t.app.pid_file),
          stopGraceMs: parseDuration(t.app.stop_grace ?? '10s'),
          healthDeadlineMs: parseDuration(t.app.health_deadline ?? '60s'),
        }
      : undefined,
    databasePassword: undefined,
    profile: t.profile ?? 'seed',
    login: undefined,
    logs: t.logs
      ? {
          ...('file' in t.logs ? { file: resolve(fileDir, t.logs.file) } : { command: t.logs.command }),
          ...(t.logs.timezone ? { timezone: t.logs.timezone } : {}),
        }
      : undefined,
    flagToggle: t.flag_toggle ?? (t.profile === 'trainingmonkey' ? 'placeholder' : 'persists'),
  };
  if (target.profile === 'trainingmonkey') target.login = adminLogin(t.login, fromFileDir(t.login?.password_file), env);
  else if (t.login)
    throw usageError(
      'config-invalid',
      'target.login is set, but the seed profile logs in with a bearer token',
      'drop target.login, or set target.profile: trainingmonkey (an app with session login)',
    );
  if (target.app && instances.length > 1) verifyInstanceTemplates(target.app, instances.length);
  if (isPostgresUrl(target.database))
    target.databasePassword = databasePassword(target.database, fromFileDir(t.database_password_file), env);
  const stateDir = fromCwd(flags.stateDir ?? env.TRIMP_ROLLBACK_STATE_DIR) ?? fromFileDir(fromFile.state_dir) ?? defaultStateDir(env);

  const token: TokenRead = flags.withoutToken
    ? { secret: undefined, provenance: 'default', file: undefined, warnings: [] }
    : readToken(fromCwd(flags.tokenFile), env, fromFileDir(t.token_file));
  registerSecret(token.secret);
  const warnings = [...token.warnings, ...looseStateDir(stateDir)];
  return {
    file,
    stateDir,
    backupsDir: fromFileDir(fromFile.backups?.dir) ?? resolve(stateDir, 'backups'),
    target,
    token: token.secret,
    thresholds: thresholdsOf(fromFile.validation ?? {}),
    notify: notifySettingsOf(fromFile.notify, fromFile.escalation, fileDir, env),
    sources: {
      stateDir: provenance(flags.stateDir, env.TRIMP_ROLLBACK_STATE_DIR, fromFile.state_dir),
      baseUrl: provenance(flags.baseUrl, env.TRIMP_BASE_URL, t.base_url),
      database: provenance(flags.database, env.TRIMP_DATABASE, t.database),
      token: token.provenance,
      tokenFile: token.file,
    },
    warnings,
  };
}

/** snake_case keys of the file onto the defaults. */
function thresholdsOf(v: z.output<typeof validationSchema>): Thresholds {
  const d = DEFAULT_THRESHOLDS;
  return {
    checkTimeoutMs: v.check_timeout_ms ?? d.checkTimeoutMs,
    errorRateWarn: v.error_rate_warn ?? d.errorRateWarn,
    errorRateFail: v.error_rate_fail ?? d.errorRateFail,
    latencyP95Ms: v.latency_p95_ms ?? d.latencyP95Ms,
    latencyP99Ms: v.latency_p99_ms ?? d.latencyP99Ms,
    logErrorsWarn: v.log_errors_warn ?? d.logErrorsWarn,
    logErrorsFail: v.log_errors_fail ?? d.logErrorsFail,
    diskFreeMinBytes: v.disk_free_min_bytes ?? d.diskFreeMinBytes,
    memoryFreeMinBytes: v.memory_free_min_bytes ?? d.memoryFreeMinBytes,
    loadPerCoreMax: v.load_per_core_max ?? d.loadPerCoreMax,
    storedSample: v.stored_sample ?? d.storedSample,
    minErrorWindowS: v.min_error_window_s ?? d.minErrorWindowS,
    minRequests: v.min_requests ?? d.minRequests,
    trimpSamples: v.trimp_samples ?? d.trimpSamples,
  };
}

function configFilePath(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const named = flags.config ?? env.TRIMP_ROLLBACK_CONFIG;
  if (named !== undefined) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) throw usageError('config-missing', `config file not found: ${path}`, 'check --config or TRIMP_ROLLBACK_CONFIG');
    return path;
  }
  if (flags.ignoreLocalConfig) return undefined;
  const local = resolve(cwd, DEFAULT_CONFIG_NAME);
  return existsSync(local) ? local : undefined;
}

function readConfigFile(path: string): ConfigFile {
  try {
    return loadYaml(path, readSourceFile(path, 'config file'), fileSchema).value;
  } catch (error) {
    if (error instanceof SourceError) {
      const [first] = error.issues;
      const more = error.issues.length - 1;
      throw usageError(
        'config-invalid',
        first ? formatIssue(first) : `${path}: invalid`,
        more > 0 ? `and ${more} more problem(s) in the same file` : undefined,
      );
    }
    throw error;
  }
}

interface TokenRead {
  secret: Secret | undefined;
  provenance: Provenance;
  file: string | undefined;
  warnings: string[];
}

/**
 * The token comes from a file named by a flag, the environment, or the config file; never from
 * a command-line value (argv is visible to every user of the machine).
 */
function readToken(flagFile: string | undefined, env: NodeJS.ProcessEnv, configFile: string | undefined): TokenRead {
  if (flagFile) return tokenFromFile(flagFile, '--token-file', 'flag');
  if (env.TRIMP_ADMIN_TOKEN?.trim())
    return { secret: new Secret(env.TRIMP_ADMIN_TOKEN.trim(), 'TRIMP_ADMIN_TOKEN'), provenance: 'env', file: undefined, warnings: [] };
  if (env.TRIMP_ADMIN_TOKEN_FILE) return tokenFromFile(resolve(env.TRIMP_ADMIN_TOKEN_FILE), 'TRIMP_ADMIN_TOKEN_FILE', 'env');
  if (configFile) return tokenFromFile(configFile, 'target.token_file', 'file');
  return { secret: undefined, provenance: 'default', file: undefined, warnings: [] };
}

function tokenFromFile(path: string, source: string, provenance: Provenance): TokenRead {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    throw usageError(
      'token-file-missing',
      `admin token file not found: ${path} (from ${source})`,
      'check the path, or set TRIMP_ADMIN_TOKEN',
    );
  }
  if (!stat.isFile()) throw usageError('token-file-missing', `admin token file is not a file: ${path} (from ${source})`);
  if (stat.size > 64 * 1024) throw usageError('token-file-invalid', `admin token file is larger than 64 KiB: ${path}; is it the token?`);
  let value: string;
  try {
    value = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw fileSystemError(error, `the admin token file cannot be read (from ${source})`);
  }
  if (!value) throw usageError('token-file-empty', `admin token file is empty: ${path}`);
  const warnings =
    (stat.mode & 0o077) !== 0
      ? [`the admin token file ${path} can be read by other users (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 ${path}`]
      : [];
  return { secret: new Secret(value, `${source} ${path}`), provenance, file: path, warnings };
}

/** A state directory others can write to lets them forge journals and locks. */
function looseStateDir(stateDir: string): string[] {
  try {
    const mode = statSync(stateDir).mode;
    if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0)
      return [`the state directory ${stateDir} can be written by other users (mode ${(mode & 0o777).toString(8)}): chmod 700 ${stateDir}`];
  } catch {
    // Not there yet: it is created 0700.
  }
  return [];
}

/** `where` names the place the URL came from: the flag, the variable or the config file. */
function verifyUrl(url: string, where: string): void {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new TrimpError('config-invalid', `${where} is not an http(s) URL: ${JSON.stringify(url)}`, {
      exitCode: 2,
      remedy: "give the app's address, such as http://127.0.0.1:8080",
    });
  }
}

/** The config with its token read from a file (an earlier run's), when it has none of its own. */
export function withTokenFile(config: Config, path: string | null | undefined): Config {
  if (config.token || !path || !existsSync(path)) return config;
  const token = tokenFromFile(path, "the run's token file", 'file');
  registerSecret(token.secret);
  return {
    ...config,
    token: token.secret,
    sources: { ...config.sources, token: 'file', tokenFile: path },
    warnings: [...config.warnings, ...token.warnings],
  };
}

/** How the token was found, for plans and for "missing token" messages. */
export function describeTokenSource(config: Config): string {
  const login = config.target.login;
  if (login) return `session login as ${login.email} (password from ${login.password?.source ?? 'nowhere: none given'})`;
  if (config.target.auth === 'none') return 'none (target.auth: none)';
  return config.token ? config.token.source : 'none found';
}

/** A database file (resolved against where it was given) or a PostgreSQL URL (as it is). */
function databaseOf(text: string | undefined, resolvePath: (p: string | undefined) => string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return isPostgresUrl(text) ? text : resolvePath(text);
}

/**
 * A PostgreSQL password never rides in the URL (it would be on the command line, in the journal,
 * in every printed command): a file, or PGPASSWORD; otherwise the driver reads ~/.pgpass.
 */
function databasePassword(url: string, file: string | undefined, env: NodeJS.ProcessEnv): Secret | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError('config-invalid', 'target.database is not a valid postgres:// URL', 'write it as postgres://USER@HOST:PORT/DATABASE');
  }
  if (parsed.search)
    throw usageError(
      'config-invalid',
      'the PostgreSQL URL (target.database, --database or TRIMP_DATABASE) has a query string: settings there (a password among them) are not read',
      'remove everything from the ? on; a password goes in PGPASSWORD, target.database_password_file or ~/.pgpass, TLS settings in PGSSLMODE and the like',
    );
  if (parsed.password)
    throw usageError(
      'config-invalid',
      'the PostgreSQL URL (target.database, --database or TRIMP_DATABASE) holds a password: it would show in commands, journals and process lists',
      'remove it from the URL; give it in PGPASSWORD, target.database_password_file (mode 0600) or ~/.pgpass',
    );
  // The environment before the config file, as for every setting.
  let password: Secret | undefined;
  if (env.PGPASSWORD) password = new Secret(env.PGPASSWORD, 'PGPASSWORD');
  else if (file) {
    try {
      password = new Secret(readFileSync(file, 'utf8').trim(), 'target.database_password_file');
    } catch {
      throw usageError('config-invalid', `the database password file cannot be read: ${file}`, 'check target.database_password_file');
    }
  }
  registerSecret(password);
  return password;
}

/**
 * The public app has no API token: the tool logs in as an admin. The e-mail is in the config; the
 * password comes from TRIMP_ADMIN_PASSWORD or target.login.password_file, never from argv.
 * A missing password is not an error here: a command that never calls the app (backups) needs none.
 */
function adminLogin(
  login: { email: string; password_file?: string | undefined } | undefined,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): AdminLogin {
  if (!login)
    throw usageError(
      'config-invalid',
      'target.profile is trainingmonkey, but target.login.email is not set: the app has no API token, the tool logs in as an admin',
      'add target.login: { email: ADMIN_EMAIL } and give the password in TRIMP_ADMIN_PASSWORD or target.login.password_file (mode 0600)',
    );
  let password: Secret | undefined;
  if (env.TRIMP_ADMIN_PASSWORD) password = new Secret(env.TRIMP_ADMIN_PASSWORD, 'TRIMP_ADMIN_PASSWORD');
  else if (file) {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(file);
    } catch {
      throw usageError('config-invalid', `the admin password file is not there: ${file}`, 'check target.login.password_file');
    }
    if ((stat.mode & 0o077) !== 0)
      throw usageError(
        'config-invalid',
        `the admin password file ${file} can be read by other users (mode ${(stat.mode & 0o777).toString(8)})`,
        `chmod 600 ${file}`,
      );
    const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (!text) throw usageError('config-invalid', `the admin password file is empty: ${file}`, 'write the password into it');
    password = new Secret(text, `target.login.password_file ${file}`);
  }
  // Masked wherever it could appear, unless shorter than 8 characters: masking every occurrence of
  // a short word ("wrong") garbles the tool's own messages and hints at the password. The password
  // goes only into the login request's body; no message repeats a reply to it.
  if (password && password.reveal().length >= 8) registerSecret(password);
  return { email: login.email, password };
}

/**
 * With several instances, one target.app describes them all: its PID file must differ per
 * instance ({instance}), or stopping one would read another's PID; {port} in the start command
 * puts each on its own port.
 */
function verifyInstanceTemplates(app: AppProcessConfig, count: number): void {
  if (!app.start.some((arg) => arg.includes('{port}') || arg.includes('{instance}')))
    throw usageError(
      'config-invalid',
      `target.app.start has neither {port} nor {instance}, but target.instances names ${count} instances: each would be started the same way, on the same port`,
      "put {port} where the start command takes its port (it is each instance's, from its URL)",
    );
  if (!app.pidFile.includes('{instance}'))
    throw usageError(
      'config-invalid',
      `target.app.pid_file has no {instance}, but target.instances names ${count} instances: they would share one PID file`,
      "write it as, for example, ./app-{instance}.pid; {port} in target.app.start is each instance's port",
    );
}

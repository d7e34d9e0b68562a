import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../checks/check.js';
import { TrimpError, usageError } from '../errors.js';
import { SEED_SAMPLE_USERS, type UserType } from '../target/user-types.js';
import { Secret } from './secret.js';
import { formatIssue, loadYaml, SourceError } from './yaml-file.js';

/** Where the system being rolled back lives. Paths are absolute once loaded. */
export interface TargetConfig {
  baseUrl: string;
  database: string;
  appDir: string;
  logsDir: string;
  sampleUsers: Record<UserType, number>;
  httpTimeoutMs: number;
}

export interface Config {
  /** The config file that was read, if any. */
  file: string | undefined;
  stateDir: string;
  target: TargetConfig;
  token: Secret | undefined;
  thresholds: Thresholds;
}

/** Options every command accepts; they win over the environment and the file. */
export interface ConfigFlags {
  config?: string;
  baseUrl?: string;
  database?: string;
  stateDir?: string;
  tokenFile?: string;
}

export const DEFAULT_CONFIG_NAME = 'trimp-rollback.yaml';

const positive = z.number().positive().optional();
const validationSchema = z
  .object({
    check_timeout_ms: positive,
    error_rate_warn: positive,
    error_rate_fail: positive,
    latency_p95_ms: positive,
    latency_p99_ms: positive,
    log_errors_warn: positive,
    log_errors_fail: positive,
    disk_free_min_bytes: positive,
    memory_free_min_bytes: positive,
    load_per_core_max: positive,
    stored_sample: z.number().int().positive().optional(),
    min_error_window_s: positive,
  })
  .strict();

const fileSchema = z
  .object({
    state_dir: z.string().min(1).optional(),
    validation: validationSchema.optional(),
    target: z
      .object({
        base_url: z.url().optional(),
        database: z.string().min(1).optional(),
        app_dir: z.string().min(1).optional(),
        logs_dir: z.string().min(1).optional(),
        token_file: z.string().min(1).optional(),
        http_timeout_ms: z.number().int().positive().optional(),
        sample_users: z
          .object({ admin: z.number().int().positive(), beta: z.number().int().positive(), regular: z.number().int().positive() })
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

  // Precedence: flags > environment > config file > the seed's defaults.
  const baseUrl = flags.baseUrl ?? env.TRIMP_BASE_URL ?? t.base_url ?? 'http://localhost:8080';
  verifyUrl(baseUrl);
  const target: TargetConfig = {
    baseUrl,
    database: fromCwd(flags.database ?? env.TRIMP_DATABASE) ?? fromFileDir(t.database) ?? resolve(cwd, 'training_data.db'),
    appDir: fromCwd(env.TRIMP_APP_DIR) ?? fromFileDir(t.app_dir) ?? resolve(cwd, 'app'),
    logsDir: fromCwd(env.TRIMP_LOGS_DIR) ?? fromFileDir(t.logs_dir) ?? resolve(cwd, 'app/logs'),
    sampleUsers: t.sample_users ?? SEED_SAMPLE_USERS,
    httpTimeoutMs: t.http_timeout_ms ?? 5000,
  };
  const stateDir =
    fromCwd(flags.stateDir ?? env.TRIMP_ROLLBACK_STATE_DIR) ??
    fromFileDir(fromFile.state_dir) ??
    resolve(env.XDG_STATE_HOME ?? resolve(homedir(), '.local/state'), 'trimp-rollback');

  const token = readToken(fromCwd(flags.tokenFile), env, fromFileDir(t.token_file));
  return { file, stateDir, target, token, thresholds: thresholdsOf(fromFile.validation ?? {}) };
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
  };
}

function configFilePath(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const named = flags.config ?? env.TRIMP_ROLLBACK_CONFIG;
  if (named !== undefined) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) throw usageError('config-missing', `config file not found: ${path}`, 'check --config or TRIMP_ROLLBACK_CONFIG');
    return path;
  }
  const local = resolve(cwd, DEFAULT_CONFIG_NAME);
  return existsSync(local) ? local : undefined;
}

function readConfigFile(path: string): ConfigFile {
  try {
    return loadYaml(path, readFileSync(path, 'utf8'), fileSchema).value;
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

/**
 * The token comes from a file named by a flag, the environment, or the config file; never from
 * a command-line value (argv is visible to every user of the machine).
 */
function readToken(flagFile: string | undefined, env: NodeJS.ProcessEnv, configFile: string | undefined): Secret | undefined {
  if (flagFile) return tokenFromFile(flagFile, '--token-file');
  if (env.TRIMP_ADMIN_TOKEN) return new Secret(env.TRIMP_ADMIN_TOKEN.trim(), 'TRIMP_ADMIN_TOKEN');
  if (env.TRIMP_ADMIN_TOKEN_FILE) return tokenFromFile(resolve(env.TRIMP_ADMIN_TOKEN_FILE), 'TRIMP_ADMIN_TOKEN_FILE');
  if (configFile) return tokenFromFile(configFile, 'target.token_file');
  return undefined;
}

function tokenFromFile(path: string, source: string): Secret {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw usageError(
      'token-file-missing',
      `admin token file not found: ${path} (from ${source})`,
      'check the path, or set TRIMP_ADMIN_TOKEN',
    );
  }
  const value = readFileSync(path, 'utf8').trim();
  if (!value) throw usageError('token-file-empty', `admin token file is empty: ${path}`);
  return new Secret(value, `${source} ${path}`);
}

function verifyUrl(url: string): void {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new TrimpError('config-invalid', `base URL is not an http(s) URL: ${url}`, { exitCode: 2 });
  }
}

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { withoutSecrets } from '../config/secret.js';
import { isProcessAlive } from '../engine/lock.js';
import { messageOf, TrimpError, usageError } from '../errors.js';
import { activeFaults, databaseReplaced, type FaultName, readFaults, writeFaults } from './faults.js';
import {
  instanceFiles,
  type PostgresEngine,
  type SandboxInstances,
  type SandboxLayout,
  type SandboxState,
  sandboxLayout,
} from './layout.js';
import { createAppDatabase } from './postgres-load.js';
import { freePort, killPostgresServerNow, startPostgresServer, stopPostgresServer, verifyPath } from './postgres-server.js';
import { initAppRepo } from './release.js';
import { createSandboxDatabase, DEFAULT_SEED, type SeedOptions } from './seed.js';
import { openSandboxStore } from './store.js';
import { ADMIN_PASSWORD_FILE, adminEmail, readSandboxProfile, reshapeForTrainingMonkey } from './trainingmonkey/schema.js';

export interface SandboxInfo {
  base_url: string;
  /** Every instance's base URL (the first is base_url). */
  instances: string[];
  pid: number;
  config: string;
  database: string;
  /** A PostgreSQL database's password file (the sandbox's own). */
  database_password_file?: string;
  token_file: string;
  /** The trainingmonkey profile: the admin's e-mail and the file holding its generated password (0600). */
  login?: { email: string; password_file: string };
  app_dir: string;
  logs_dir: string;
}

export interface StartOptions {
  port?: number;
  seed?: Partial<SeedOptions>;
  /** Simulated requests per second (0: none). */
  traffic?: number;
  /** Start from a copy of this database file instead of a seeded one. */
  dbFrom?: string;
  /** postgres: the app's database on a PostgreSQL server of the sandbox's own, loaded from the seeded data. */
  engine?: 'sqlite' | 'postgres';
  /** App instances sharing the database, each on its own port (default: as the sandbox last ran, else 1). */
  instances?: number;
  /** trainingmonkey: the public app as deployed (session login, its answers and database), not the seed's contract. */
  profile?: 'seed' | 'trainingmonkey';
}

/** Creates what the directory lacks (database, token, app checkout), then starts the server detached. */
export async function startSandbox(dir: string, options: StartOptions = {}): Promise<SandboxInfo> {
  const layout = sandboxLayout(dir);
  const running = sandboxProcesses(layout);
  if (running.length > 0) {
    throw usageError(
      'sandbox-running',
      `a sandbox already runs in ${layout.root} (pid ${running.join(', ')}${readState(layout) ? `, ${readState(layout)?.base_url}` : ''})`,
      `stop it first: trimp-rollback sandbox stop --dir ${dir}`,
    );
  }
  // Refused before anything is created: a PostgreSQL sandbox cannot live at a path pg_ctl's shell would read.
  if (options.engine === 'postgres') verifyPath(layout.root);
  const playing = readSandboxProfile(layout.root) ? 'trainingmonkey' : existsSync(layout.database) ? 'seed' : undefined;
  if (options.profile && playing && options.profile !== playing)
    throw usageError(
      'sandbox-profile',
      `the sandbox in ${layout.root} plays the ${playing} profile, not ${options.profile}`,
      "give another --dir for a new sandbox (its database has the other app's shape)",
    );
  const trainingMonkey = (options.profile ?? playing) === 'trainingmonkey';
  mkdirSync(layout.logsDir, { recursive: true });
  mkdirSync(layout.stateDir, { recursive: true, mode: 0o700 });
  initAppRepo(layout.appDir);
  if (options.dbFrom) {
    const { importDatabase } = await import('./import.js');
    await importDatabase(options.dbFrom, layout.database);
  } else if (!existsSync(layout.database)) {
    await createSandboxDatabase(layout.database, { ...DEFAULT_SEED, ...options.seed });
  }
  // The public app has no token (it logs in): its sandbox writes none.
  if (!trainingMonkey && !existsSync(layout.tokenFile))
    writeFileSync(layout.tokenFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  if (options.engine === 'postgres' && !existsSync(layout.engineFile)) await setUpPostgres(layout);
  else if (existsSync(layout.engineFile)) await startPostgresServer(layout.root);
  if (trainingMonkey && !readSandboxProfile(layout.root)?.reshaped) {
    const store = await openSandboxStore(layout);
    try {
      await reshapeForTrainingMonkey(layout.root, store);
    } finally {
      await store.close();
    }
  }
  rmSync(layout.stateFile, { force: true });
  const count = options.instances ?? readInstances(layout)?.ports.length ?? 1;
  if (count > 1 && options.port)
    throw usageError('option-invalid', '--port names one port; with --instances each instance gets a free port of its own');
  const states = await spawnInstances(layout, count, options.port, options.traffic ?? 0);
  // Running again ends a crash: it must not be listed as a fault any more.
  const faults = readFaults(layout.root);
  if (faults.crash) {
    delete faults.crash;
    writeFaults(layout.root, faults);
  }
  writeConfig(layout, states);
  return infoOf(layout, states);
}

/**
 * One instance on the given port (or a free one), or several, each on a free port of its own;
 * instances.json records their ports, so that a restart puts each back where the config points.
 */
async function spawnInstances(layout: SandboxLayout, count: number, port: number | undefined, traffic: number): Promise<SandboxState[]> {
  if (count === 1) {
    rmSync(layout.instancesFile, { force: true });
    // A concrete port, not 0: the config's start command must restart it where the config points.
    return [port ? await spawnServer(layout, port, traffic) : await spawnOnFreePort(layout, traffic)];
  }
  const states: SandboxState[] = [];
  try {
    for (let instance = 1; instance <= count; instance++) states.push(await spawnOnFreePort(layout, traffic, instance));
  } catch (error) {
    await stopSandbox(layout.root, { database: false });
    throw error;
  }
  const record: SandboxInstances = { ports: states.map((s) => s.port), traffic };
  writeFileSync(layout.instancesFile, `${JSON.stringify(record)}\n`);
  return states;
}

/** instances.json, when the sandbox runs several instances. */
function readInstances(layout: SandboxLayout): SandboxInstances | undefined {
  try {
    return JSON.parse(readFileSync(layout.instancesFile, 'utf8')) as SandboxInstances;
  } catch {
    return undefined;
  }
}

/** Stops and starts every instance on the same ports (the config stays valid), keeping their traffic. */
export async function restartSandbox(dir: string, port: number, traffic: number): Promise<SandboxInfo> {
  const layout = sandboxLayout(dir);
  await stopSandbox(dir, { database: false });
  const several = readInstances(layout);
  const states: SandboxState[] = [];
  if (several) for (const [index, at] of several.ports.entries()) states.push(await spawnServer(layout, at, several.traffic, index + 1));
  else states.push(await spawnServer(layout, port, traffic));
  return infoOf(layout, states);
}

/** The server's command line: `target.app.start` in the generated config is exactly this. */
function serverArgv(layout: SandboxLayout, port: number | string, traffic: number, instance?: number | string): string[] {
  return [
    process.execPath,
    serverEntry(),
    '--dir',
    layout.root,
    '--port',
    String(port),
    '--traffic',
    String(traffic),
    ...(instance !== undefined ? ['--instance', String(instance)] : []),
  ];
}

/**
 * A port the kernel just handed out can be taken by someone else (another sandbox, an outgoing
 * connection) before the server binds it: then the server says EADDRINUSE and another port is tried.
 */
async function spawnOnFreePort(layout: SandboxLayout, traffic: number, instance?: number): Promise<SandboxState> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServer(layout, await freePort(), traffic, instance);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof TrimpError) || !error.message.includes('EADDRINUSE')) throw error;
    }
  }
}

async function spawnServer(layout: SandboxLayout, port: number, traffic: number, instance?: number): Promise<SandboxState> {
  // The public app logs to stderr only: its output is captured where target.logs reads it (as an app restart does).
  const logFile = readSandboxProfile(layout.root) ? join(layout.logsDir, 'app.out') : layout.processLog;
  const out = openSync(logFile, 'a');
  const [program, ...args] = serverArgv(layout, port, traffic, instance) as [string, ...string[]];
  const files = instanceFiles(layout, instance);
  const child = spawn(program, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: withoutSecrets(process.env),
  });
  closeSync(out);
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  child.unref();

  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = readStateFile(files.stateFile);
    if (state && state.pid === child.pid) return state;
    if (exited !== null || Date.now() > deadline) {
      if (exited === null && child.pid) process.kill(child.pid, 'SIGKILL');
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-1)[0] : '';
      throw new TrimpError(
        'sandbox-start',
        `the sandbox did not start${exited !== null ? ` (exit ${exited})` : ' within 15 s'}${tail ? `: ${tail}` : ''}`,
        {
          remedy: `see ${logFile}`,
        },
      );
    }
    await sleep(20);
  }
}

export interface StopResult {
  stopped: boolean;
  pid?: number;
  /** Every server process stopped (one per instance). */
  pids?: number[];
  forced?: boolean;
  /** The PID file named a live process that is not this sandbox: it was left alone. */
  foreign_pid?: number;
}

/**
 * Stops the sandbox. Unlike the seed's `pkill -f`, a process is signalled only if its command
 * line is this sandbox's server; a PID file naming another program is reported, not obeyed,
 * and the real server is found by its command line even when the PID file lies.
 */
export async function stopSandbox(dir: string, options: { database?: boolean } = {}): Promise<StopResult> {
  const layout = sandboxLayout(dir);
  const recorded = readPid(layout);
  const foreign = recorded !== undefined && isProcessAlive(recorded) && !isSandboxProcess(recorded, layout) ? recorded : undefined;
  const pids = sandboxProcesses(layout);
  const result: StopResult = { stopped: false, ...(foreign !== undefined ? { foreign_pid: foreign } : {}) };
  for (const pid of pids) signal(pid, 'SIGTERM');
  let forced = false;
  for (let waited = 0; pids.some(isProcessAlive); waited += 25) {
    if (waited >= 5000 && !forced) {
      for (const pid of pids) signal(pid, 'SIGKILL');
      forced = true;
    }
    await sleep(25);
  }
  for (const instance of [undefined, ...instanceNumbers(layout)]) {
    const files = instanceFiles(layout, instance);
    rmSync(files.stateFile, { force: true });
    rmSync(files.pidFile, { force: true });
  }
  // The sandbox's own PostgreSQL server goes with it (a restart of the app keeps it running), even
  // one whose set-up never finished (no engine.json yet).
  if (options.database !== false) await stopPostgresServer(layout.root);
  return pids.length > 0 ? { ...result, stopped: true, pid: pids[0] as number, pids, forced } : result;
}

/** A second Ctrl-C during a game day: no waiting, the sandbox is killed where it stands. */
export function killSandboxNow(dir: string): void {
  for (const pid of sandboxProcesses(sandboxLayout(dir))) signal(pid, 'SIGKILL');
  killPostgresServerNow(sandboxLayout(dir).root);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Every running server of this sandbox directory, found by its command line (Linux /proc). */
export function sandboxProcesses(layout: SandboxLayout): number[] {
  const candidates = new Set<number>();
  for (const pid of [readPid(layout), readState(layout)?.pid]) if (pid !== undefined) candidates.add(pid);
  try {
    for (const name of readdirSync('/proc')) if (/^\d+$/.test(name)) candidates.add(Number(name));
  } catch {
    // No /proc: only the recorded PIDs can be checked.
  }
  return [...candidates].filter((pid) => pid !== process.pid && isSandboxProcess(pid, layout));
}

export interface SandboxStatus {
  running: boolean;
  dir: string;
  pid?: number;
  base_url?: string;
  traffic?: number;
  /** A PID file whose process is gone: the app crashed. */
  stale_pid?: number;
  faults: FaultName[];
  /** When several instances run: each one's number, pid and base URL. */
  instances?: { number: number; pid: number; base_url: string }[];
}

export function sandboxStatus(dir: string): SandboxStatus {
  const layout = sandboxLayout(dir);
  const state = readState(layout);
  const recorded = readFaults(layout.root);
  const corrupt = recorded['corrupt-db'];
  const replaced = corrupt !== undefined && databaseReplaced(layout.database, corrupt);
  // A database restored over the damaged one is not damaged any more.
  const faults = activeFaults(recorded).filter((fault) => !(fault === 'corrupt-db' && replaced));
  const running = sandboxProcesses(layout);
  const instances = readStates(layout)
    .filter((s) => s.instance !== undefined && running.includes(s.pid))
    .map((s) => ({ number: s.instance as number, pid: s.pid, base_url: s.base_url }));
  const several = instances.length > 0 ? { instances } : {};
  if (state && running.includes(state.pid))
    return { running: true, pid: state.pid, base_url: state.base_url, traffic: state.traffic ?? 0, dir: layout.root, faults, ...several };
  if (running.length > 0) return { running: true, pid: running[0] as number, dir: layout.root, faults };
  const pid = readPid(layout);
  return { running: false, dir: layout.root, ...(pid !== undefined ? { stale_pid: pid } : {}), faults };
}

/** Unlike the seed's `pkill -f`, a PID is only signalled if its command line is this sandbox's. */
export function isSandboxProcess(pid: number, layout: SandboxLayout): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('sandbox/server.js')) && cmdline.includes(layout.root);
  } catch {
    return false;
  }
}

/** The first instance's state (the only one's, when one runs). */
export function readState(layout: SandboxLayout): SandboxState | undefined {
  return readStateFile(layout.stateFile) ?? readStateFile(instanceFiles(layout, 1).stateFile);
}

/** Every running instance's state, in instance order. */
export function readStates(layout: SandboxLayout): SandboxState[] {
  const numbers = instanceNumbers(layout);
  if (numbers.length === 0) return [readStateFile(layout.stateFile)].filter((s) => s !== undefined);
  return numbers.map((n) => readStateFile(instanceFiles(layout, n).stateFile)).filter((s) => s !== undefined);
}

function instanceNumbers(layout: SandboxLayout): number[] {
  const count = readInstances(layout)?.ports.length ?? 0;
  return Array.from({ length: count }, (_, i) => i + 1);
}

function readStateFile(path: string): SandboxState | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SandboxState;
  } catch {
    return undefined;
  }
}

function readPid(layout: SandboxLayout): number | undefined {
  try {
    const pid = Number(readFileSync(layout.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function writeConfig(layout: SandboxLayout, states: SandboxState[]): void {
  const first = states[0] as SandboxState;
  const several = states.length > 1;
  const text = [
    '# Written by `trimp-rollback sandbox start`: points every command at this sandbox.',
    'state_dir: ./state',
    'target:',
    ...(several
      ? [
          '  # Every instance of the app; the first is the one single-instance commands talk to.',
          '  instances:',
          ...states.map((s) => `    - ${s.base_url}`),
        ]
      : [`  base_url: ${first.base_url}`]),
    ...databaseLines(layout),
    '  app_dir: ./app',
    '  logs_dir: ./app/logs',
    ...(readSandboxProfile(layout.root)
      ? [
          '  # The public app as deployed: session login as its admin, logs captured from its stderr.',
          '  profile: trainingmonkey',
          `  login: { email: ${adminEmail(layout.root)}, password_file: ./${ADMIN_PASSWORD_FILE} }`,
          '  logs: { file: ./app/logs/app.out }',
        ]
      : ['  token_file: ./admin-token']),
    '  # How the database and application scenarios stop and start this server (no shell).',
    ...(several ? ['  # {port} and {instance} are filled in for each instance.'] : []),
    '  app:',
    `    start: ${JSON.stringify(several ? serverArgv(layout, '{port}', first.traffic ?? 0, '{instance}') : serverArgv(layout, first.port, first.traffic ?? 0))}`,
    `    pid_file: ${several ? './sandbox-{instance}.pid' : './sandbox.pid'}`,
    '    stop_grace: 10s',
    '    health_deadline: 60s',
    'backups:',
    '  dir: ./backups',
    '',
  ].join('\n');
  writeFileSync(layout.config, text);
}

/**
 * The app's database moved onto a PostgreSQL server of the sandbox's own. engine.json is written
 * last: without it the set-up did not finish, and the next start does it again from the seeded
 * SQLite file (createAppDatabase replaces what an unfinished one left). A set-up that fails stops
 * the server it started and says why in one line.
 */
async function setUpPostgres(layout: SandboxLayout): Promise<void> {
  try {
    const server = await startPostgresServer(layout.root);
    const app = await createAppDatabase(server, { sqliteSource: layout.database });
    const engine: PostgresEngine = { engine: 'postgres', url: app.url, password_file: app.passwordFile };
    writeFileSync(layout.engineFile, `${JSON.stringify(engine, null, 2)}\n`);
  } catch (error) {
    await stopPostgresServer(layout.root).catch(() => undefined);
    if (error instanceof TrimpError) throw error;
    throw new TrimpError('sandbox-start', `the sandbox's PostgreSQL database could not be set up: ${messageOf(error)}`, {
      remedy: `see ${join(layout.root, 'postgres', 'server.log')}; remove ${join(layout.root, 'postgres')} to start over`,
    });
  }
}

/** The target's database: the SQLite file, or the sandbox's PostgreSQL database and its password file. */
function databaseLines(layout: SandboxLayout): string[] {
  if (!existsSync(layout.engineFile)) return ['  database: ./training_data.db'];
  const engine = JSON.parse(readFileSync(layout.engineFile, 'utf8')) as PostgresEngine;
  return [`  database: ${engine.url}`, `  database_password_file: ${engine.password_file}`];
}

/** What the tool's target.database is: the file, or the PostgreSQL URL. */
function databaseOf(layout: SandboxLayout): string {
  return existsSync(layout.engineFile) ? (JSON.parse(readFileSync(layout.engineFile, 'utf8')) as PostgresEngine).url : layout.database;
}

function infoOf(layout: SandboxLayout, states: SandboxState[]): SandboxInfo {
  const state = states[0] as SandboxState;
  return {
    base_url: state.base_url,
    instances: states.map((s) => s.base_url),
    pid: state.pid,
    config: layout.config,
    database: databaseOf(layout),
    ...(existsSync(layout.engineFile)
      ? { database_password_file: (JSON.parse(readFileSync(layout.engineFile, 'utf8')) as PostgresEngine).password_file }
      : {}),
    token_file: layout.tokenFile,
    ...(readSandboxProfile(layout.root)
      ? { login: { email: adminEmail(layout.root), password_file: join(layout.root, ADMIN_PASSWORD_FILE) } }
      : {}),
    app_dir: layout.appDir,
    logs_dir: layout.logsDir,
  };
}

/** The compiled server next to this module; from the sources (tests), the built copy. */
function serverEntry(): string {
  const beside = fileURLToPath(new URL('./server.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL('../../dist/sandbox/server.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new TrimpError('sandbox-missing', 'the sandbox server is not built', { remedy: 'run npm run build' });
}

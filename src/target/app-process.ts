import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppProcessConfig } from '../config/config.js';
import { withoutSecrets } from '../config/secret.js';
import { isProcessAlive } from '../engine/lock.js';
import { messageOf, TrimpError } from '../errors.js';
import { formatMs } from '../report/format.js';
import type { AdminApi } from './admin-api.js';
import { readHealth } from './health.js';

/**
 * The app's process, by its recorded PID only. Unlike the seed's `pkill -f strava_app.py`, which
 * kills anything whose command line matches, a PID is signalled only after /proc shows that it
 * runs the configured start command (or is the very process this tool started: same PID, same
 * start time); a PID file naming another program is reported, not obeyed.
 */
export type AppState =
  | { kind: 'running'; pid: number }
  | { kind: 'stopped'; why: string; stalePid?: number }
  | { kind: 'foreign'; pid: number; commandLine: string };

export function appState(app: AppProcessConfig): AppState {
  const pid = readPidFile(app.pidFile);
  if (pid === undefined) return { kind: 'stopped', why: `no PID in ${app.pidFile}` };
  if (!isProcessAlive(pid)) return { kind: 'stopped', why: `the PID file names pid ${pid}, which is not running (stale)`, stalePid: pid };
  const commandLine = commandLineOf(pid);
  if (commandLine && isTheApp(commandLine, app.start)) return { kind: 'running', pid };
  // Started by us (its start time recorded then): the app, even if a wrapper exec'd into another program.
  if (startedByUs(app, pid)) return { kind: 'running', pid };
  return { kind: 'foreign', pid, commandLine: commandLine ? commandLine.join(' ') : '(unreadable)' };
}

/** The process runs the start command: the same arguments, the program compared by name. */
export function isTheApp(commandLine: string[], start: string[]): boolean {
  if (commandLine.length !== start.length) return false;
  const [program, ...args] = commandLine;
  const [wanted, ...wantedArgs] = start;
  return basename(program ?? '') === basename(wanted ?? '') && args.every((arg, i) => arg === wantedArgs[i]);
}

/**
 * Why the start command could not run, found before the app is stopped (undefined: it can):
 * a path must be an executable file; a bare name must be one on PATH.
 */
export function startProblem(app: AppProcessConfig, cwd: string): string | undefined {
  return programProblem(app.start[0] as string, cwd, 0);
}

function programProblem(program: string, cwd: string, depth: number): string | undefined {
  const found = findProgram(program, cwd);
  if (!found) return program.includes('/') ? `${resolve(cwd, program)} is not an executable file` : `${program} is not a program on PATH`;
  // A script runs only if its interpreter does (#!/usr/bin/env node: env, then node on PATH).
  const interpreter = shebangOf(found);
  if (!interpreter || depth > 2) return undefined;
  const [command, argument] = interpreter;
  const missing = programProblem(command, cwd, depth + 1);
  if (missing) return `${found} needs ${command}, and ${missing}`;
  if (basename(command) === 'env' && argument && !argument.startsWith('-')) {
    const viaEnv = programProblem(argument, cwd, depth + 1);
    if (viaEnv) return `${found} runs ${argument} through env, and ${viaEnv}`;
  }
  return undefined;
}

function findProgram(program: string, cwd: string): string | undefined {
  const candidates = program.includes('/')
    ? [resolve(cwd, program)]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

/** The interpreter line of a script (its command and first argument), if it has one. */
function shebangOf(path: string): [string, string | undefined] | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(256);
      const text = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('utf8');
      if (!text.startsWith('#!')) return undefined;
      const [command, argument] = (text.slice(2).split('\n')[0] ?? '').trim().split(/\s+/);
      return command ? [command, argument] : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

export interface Stopped {
  pid: number | null;
  /** SIGKILL was needed: the app ignored SIGTERM for the whole grace period. */
  forced: boolean;
  waited_ms: number;
  note: string;
}

/** SIGTERM, wait up to the grace period, then SIGKILL; refuses a PID that is not the app. */
export async function stopApp(app: AppProcessConfig): Promise<Stopped> {
  const state = appState(app);
  if (state.kind === 'foreign') throw foreignPid(app, state);
  if (state.kind === 'stopped') return { pid: null, forced: false, waited_ms: 0, note: `already stopped: ${state.why}` };
  const started = performance.now();
  signal(state.pid, 'SIGTERM');
  let forced = false;
  while (isProcessAlive(state.pid)) {
    const waited = performance.now() - started;
    if (!forced && waited >= app.stopGraceMs) {
      signal(state.pid, 'SIGKILL');
      forced = true;
    }
    if (forced && waited >= app.stopGraceMs + 10_000)
      throw new TrimpError('app-unkillable', `pid ${state.pid} is still alive 10 s after SIGKILL`, {
        remedy: 'look at the process (uninterruptible I/O?), then resume',
      });
    await sleep(25);
  }
  const waited_ms = Math.round(performance.now() - started);
  const note = forced
    ? `pid ${state.pid} ignored SIGTERM for ${formatMs(app.stopGraceMs)}: SIGKILL sent, gone after ${waited_ms} ms`
    : `pid ${state.pid} stopped on SIGTERM in ${waited_ms} ms`;
  return { pid: state.pid, forced, waited_ms, note };
}

export interface Started {
  pid: number;
  log: string;
}

/** Detached in its own process group, output appended to the logs, a fresh PID file. */
export async function startApp(app: AppProcessConfig, logsDir: string, cwd: string): Promise<Started> {
  const state = appState(app);
  if (state.kind === 'running') return { pid: state.pid, log: join(logsDir, 'app.out') };
  if (state.kind === 'foreign') throw foreignPid(app, state);
  mkdirSync(logsDir, { recursive: true });
  const log = join(logsDir, 'app.out');
  const out = openSync(log, 'a');
  const [program, ...args] = app.start as [string, ...string[]];
  let spawnError: Error | undefined;
  const child = spawn(program, args, {
    cwd,
    detached: true, // its own process group: our Ctrl-C or a closing terminal does not reach it
    stdio: ['ignore', out, out],
    env: withoutSecrets(process.env),
  });
  closeSync(out);
  child.on('error', (error) => {
    spawnError = error;
  });
  child.unref();
  await sleep(50);
  if (spawnError || child.pid === undefined)
    throw new TrimpError('app-start', `the app could not be started: ${app.start.join(' ')}: ${messageOf(spawnError)}`, {
      remedy: 'check target.app.start in the config',
    });
  writePidFile(app.pidFile, child.pid);
  const startTime = startTimeOf(child.pid);
  if (startTime !== undefined)
    writeFileSync(startedFile(app), `${JSON.stringify({ pid: child.pid, start_time: startTime, argv: app.start })}\n`);
  return { pid: child.pid, log };
}

export interface Health {
  healthy: boolean;
  attempts: number;
  waited_ms: number;
  last: string;
}

/** GET /health with backoff (100 ms doubling to 2 s) until it says healthy or the deadline passes. */
export async function waitHealthy(api: AdminApi, deadlineMs: number, isAlive: () => boolean, signal: AbortSignal): Promise<Health> {
  const started = performance.now();
  let delay = 100;
  let attempts = 0;
  let last = 'not asked yet';
  for (;;) {
    attempts += 1;
    try {
      // Judged by the body: an app whose /health answers 200 without its database is not up.
      const health = await readHealth(api, AbortSignal.timeout(5000));
      if (health.healthy) return { healthy: true, attempts, waited_ms: Math.round(performance.now() - started), last: 'healthy' };
      last = health.problem ?? 'not healthy';
    } catch (error) {
      last = messageOf(error);
    }
    const waited = performance.now() - started;
    if (waited >= deadlineMs || signal.aborted || !isAlive()) {
      const why = !isAlive()
        ? 'the process exited'
        : signal.aborted
          ? 'interrupted'
          : `no healthy answer within ${Math.round(deadlineMs / 1000)} s`;
      return { healthy: false, attempts, waited_ms: Math.round(waited), last: `${why}; last answer: ${last}` };
    }
    await sleep(Math.min(delay, deadlineMs - waited), undefined, { signal }).catch(() => undefined);
    delay = Math.min(delay * 2, 2000);
  }
}

function foreignPid(app: AppProcessConfig, state: { pid: number; commandLine: string }): TrimpError {
  return new TrimpError(
    'app-pid-foreign',
    `the PID file ${app.pidFile} names pid ${state.pid}, which runs "${state.commandLine.slice(0, 120)}", not the app ("${app.start.join(' ').slice(0, 120)}"): not signalled`,
    { remedy: "find the app's real PID and stop it yourself, or fix target.app.start; then resume" },
  );
}

function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function writePidFile(path: string, pid: number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${pid}\n`);
  renameSync(temporary, path);
}

/** Beside the PID file: which process we started, and when (a reused PID has another start time). */
function startedFile(app: AppProcessConfig): string {
  return `${app.pidFile}.trimp-rollback.json`;
}

function startedByUs(app: AppProcessConfig, pid: number): boolean {
  try {
    const record = JSON.parse(readFileSync(startedFile(app), 'utf8')) as { pid?: number; start_time?: string };
    return record.pid === pid && record.start_time !== undefined && record.start_time === startTimeOf(pid);
  } catch {
    return false;
  }
}

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function commandLineOf(pid: number): string[] | undefined {
  try {
    const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (parts.at(-1) === '') parts.pop();
    return parts;
  } catch {
    return undefined;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone meanwhile.
  }
}

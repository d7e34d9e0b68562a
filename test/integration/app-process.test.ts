import { spawn } from 'node:child_process';
import { linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processesHolding } from '../../src/backup/sqlite-file.js';
import type { AppProcessConfig } from '../../src/config/config.js';
import { isProcessAlive } from '../../src/engine/lock.js';
import { appState, startApp, startProblem, stopApp } from '../../src/target/app-process.js';

const dir = mkdtempSync(join(tmpdir(), 'trimp-app-process-'));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
});

const app = (start: string[], name: string, graceMs = 5000): AppProcessConfig => ({
  start,
  pidFile: join(dir, `${name}.pid`),
  stopGraceMs: graceMs,
  healthDeadlineMs: 1000,
});
const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');

describe('the app process, by its recorded PID (real processes)', () => {
  it('starts detached with a fresh PID file; a wrapper that execs into another program is still the app (its start time); SIGTERM stops it', async () => {
    const wrapper = app(['sh', '-c', 'exec sleep 300'], 'wrapper');
    const { pid } = await startApp(wrapper, join(dir, 'logs'), dir);
    started.push(pid);
    expect(Number(readFileSync(wrapper.pidFile, 'utf8'))).toBe(pid);
    expect(commandOf(pid)).toBe('sleep 300'); // not the start command any more
    expect(appState(wrapper)).toEqual({ kind: 'running', pid });
    const stopped = await stopApp(wrapper);
    expect(stopped).toMatchObject({ pid, forced: false });
    expect(stopped.note).toMatch(new RegExp(`pid ${pid} stopped on SIGTERM in \\d+ ms`));
    expect(isProcessAlive(pid)).toBe(false);
    expect(appState(wrapper).kind).toBe('stopped');
  });

  it('an app that ignores SIGTERM is SIGKILLed once the grace period is over', async () => {
    const stubborn = app([process.execPath, '-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], 'stubborn', 400);
    const { pid } = await startApp(stubborn, join(dir, 'logs'), dir);
    started.push(pid);
    await new Promise((resolve) => setTimeout(resolve, 300)); // let it install its handler
    const stopped = await stopApp(stubborn);
    expect(stopped.forced).toBe(true);
    expect(stopped.waited_ms).toBeGreaterThanOrEqual(400);
    expect(stopped.note).toMatch(new RegExp(`pid ${pid} ignored SIGTERM for 400 ms: SIGKILL sent`));
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('a PID file naming another live program is refused, and that program survives; a reused PID is not the app', async () => {
    const bystander = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    bystander.unref();
    started.push(bystander.pid as number);
    const config = app(['sleep', '301'], 'foreign');
    writeFileSync(config.pidFile, `${bystander.pid}\n`);
    expect(appState(config)).toMatchObject({ kind: 'foreign', pid: bystander.pid, commandLine: 'sleep 300' });
    await expect(stopApp(config)).rejects.toThrow(/names pid \d+, which runs "sleep 300", not the app \("sleep 301"\): not signalled/);
    expect(isProcessAlive(bystander.pid as number)).toBe(true);
    // A start-time record of another process with that PID does not make it the app.
    writeFileSync(`${config.pidFile}.trimp-rollback.json`, JSON.stringify({ pid: bystander.pid, start_time: '1', argv: config.start }));
    expect(appState(config).kind).toBe('foreign');
  });

  it('a stale PID file is "already stopped"; a start command that does not exist is one clear error', async () => {
    const gone = app(['sleep', '302'], 'gone');
    writeFileSync(gone.pidFile, '999999\n');
    expect(await stopApp(gone)).toMatchObject({ pid: null, forced: false });
    expect((await stopApp(gone)).note).toMatch(/already stopped: the PID file names pid 999999, which is not running \(stale\)/);
    const missing = app(['/nonexistent/app-binary', '--serve'], 'missing');
    await expect(startApp(missing, join(dir, 'logs'), dir)).rejects.toThrow(
      /the app could not be started: \/nonexistent\/app-binary --serve: .*ENOENT/,
    );
  });

  it('a start script whose interpreter is missing is found before anything is stopped', () => {
    const script = join(dir, 'start-app.sh');
    writeFileSync(script, '#!/nonexistent/interpreter\necho never\n', { mode: 0o755 });
    expect(startProblem(app([script], 'script'), dir)).toBe(
      `${script} needs /nonexistent/interpreter, and /nonexistent/interpreter is not an executable file`,
    );
    writeFileSync(script, '#!/usr/bin/env no-such-runtime-xyz\n', { mode: 0o755 });
    expect(startProblem(app([script], 'script'), dir)).toMatch(
      /runs no-such-runtime-xyz through env, and no-such-runtime-xyz is not a program on PATH/,
    );
    writeFileSync(script, '#!/bin/sh\nexec sleep 1\n', { mode: 0o755 });
    expect(startProblem(app([script], 'script'), dir)).toBeUndefined();
  });

  it('a process holding the database under another name (a hard link) is found', async () => {
    const database = join(dir, 'held.db');
    writeFileSync(database, 'x');
    linkSync(database, join(dir, 'held-other-name.db'));
    const holder = spawn('sh', ['-c', `exec 3<${join(dir, 'held-other-name.db')}; sleep 300`], { stdio: 'ignore' });
    started.push(holder.pid as number);
    for (let i = 0; i < 40 && processesHolding(database).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(processesHolding(database)).toContain(holder.pid);
  });
});

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { TestSandbox } from './sandbox.js';

/** Running: an exited process its parent has not reaped yet (a zombie) is not. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface JournalLine {
  ts?: string;
  type: string;
  error?: string;
  step?: string;
  status?: string;
  name?: string;
  data?: Record<string, unknown>;
}

export function journalEvents(path: string): JournalLine[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JournalLine);
}

/**
 * Replaces a (stopped) sandbox's server by the same server ignoring SIGTERM, started as a config
 * of its own says (target.app.start) with the given grace period; its PID is in the PID file.
 */
export async function startStubbornApp(sandbox: TestSandbox, stopGrace: string): Promise<{ config: string; pid: number; kill(): void }> {
  const port = new URL(sandbox.baseUrl).port;
  const stubborn = fileURLToPath(new URL('../fixtures/apps/ignores-sigterm.mjs', import.meta.url));
  const argv = [process.execPath, stubborn, '--dir', sandbox.dir, '--port', port, '--traffic', '0'];
  const config = join(sandbox.dir, 'stubborn.yaml');
  writeFileSync(
    config,
    readFileSync(sandbox.config, 'utf8')
      .replace(/ {4}start: .*/, `    start: ${JSON.stringify(argv)}`)
      .replace('stop_grace: 10s', `stop_grace: ${stopGrace}`),
  );
  const app = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: 'ignore' });
  app.unref();
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${sandbox.baseUrl}/health`).then(
        (r) => r.status > 0,
        () => false,
      )
    )
      break;
    await sleep(25);
  }
  writeFileSync(join(sandbox.dir, 'sandbox.pid'), `${app.pid}\n`);
  return {
    config,
    pid: app.pid as number,
    kill() {
      for (const pid of [app.pid, Number(readFileSync(join(sandbox.dir, 'sandbox.pid'), 'utf8'))]) {
        try {
          process.kill(pid as number, 'SIGKILL');
        } catch {}
      }
    },
  };
}

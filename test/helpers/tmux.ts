import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real pseudo-terminal: tmux runs the command in a detached session on its own server
 * socket; the test reads the screen and types as a person would.
 */
export class Terminal {
  private readonly socket = `trimp-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;

  constructor(
    command: string,
    private readonly exitFile: string,
  ) {
    // An operator's terminal: CI (set by CI runners) makes ora and chalk treat even a real
    // terminal as a log, so no spinner line would ever be drawn.
    this.tmux('new-session', '-d', '-x', '200', '-y', '60', `env -u CI ${command}; echo $? > ${exitFile}; sleep 60`);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-S', '-200');
  }

  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = this.screen();
      if (pattern.test(text)) return text;
      await sleep(50);
    }
    throw new Error(`the terminal never showed ${pattern}:\n${this.screen()}`);
  }

  type(...keys: string[]): void {
    this.tmux('send-keys', ...keys);
  }

  async exitCode(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (existsSync(this.exitFile)) {
        const text = readFileSync(this.exitFile, 'utf8').trim();
        if (text) return Number(text);
      }
      await sleep(50);
    }
    throw new Error(`the command did not finish:\n${this.screen()}`);
  }

  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // Already gone.
    }
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }
}

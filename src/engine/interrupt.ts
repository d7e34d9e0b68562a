/**
 * Ctrl-C during a run (and the terminal going away, or a polite kill: SIGHUP, SIGTERM). The
 * first signal asks the run to stop after the step in flight (long waits end at once through
 * the abort signal; writes finish), so the journal and the lock are left in order. A second
 * one stops immediately: the journal then shows a started step without an end, which
 * `resume` re-checks against the world.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof SIGNALS)[number];

let received: StopSignal | undefined;

/** The signal that interrupted the last run, so that the process can end by it. */
export function interruptingSignal(): StopSignal {
  return received ?? 'SIGINT';
}

export class Interruption {
  private readonly controller = new AbortController();
  private readonly handlers = SIGNALS.map((signal) => [signal, () => this.handle(signal)] as const);
  private count = 0;

  constructor(private readonly notify: (message: string) => void) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  install(): this {
    for (const [signal, handler] of this.handlers) process.on(signal, handler);
    return this;
  }

  dispose(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
  }

  /** The same as a Ctrl-C, for an interrupt typed at a prompt. */
  request(): void {
    received ??= 'SIGINT';
    if (!this.requested) this.controller.abort(new Error('interrupted'));
  }

  private handle(signal: StopSignal): void {
    this.count += 1;
    received ??= signal;
    if (this.count === 1) {
      this.notify(
        `${signal === 'SIGINT' ? 'Interrupt' : signal}: finishing the step in flight safely, then stopping. Press Ctrl-C again to stop at once.`,
      );
      this.request();
      return;
    }
    this.notify('Second interrupt: stopping now. Run `trimp-rollback resume` to re-check and continue.');
    this.dispose();
    process.kill(process.pid, signal);
  }
}

/**
 * Ctrl-C during a run (and the terminal going away, or a polite kill: SIGHUP, SIGTERM). The
 * first signal asks the run to stop after the step in flight: the step finishes (within its
 * own timeouts; only waits end at once, through `signal`), so the journal and the lock are
 * left in order. A second one stops immediately: the synchronous hard-stop cleanups run (the
 * lock is released, a game day's sandbox is killed), the journal shows a started step without
 * an end, which `resume` re-checks against the world.
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
  private readonly hardStops: (() => void)[] = [];
  private count = 0;
  private installed = false;

  constructor(private readonly notify: (message: string) => void) {}

  /** Aborted on the first interrupt: for waits, which can end at once without harm. */
  /** What the first Ctrl-C does, as said to the operator (after a run: ending the observing). */
  firstStopText = 'finishing the step in flight safely, then stopping';

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  install(): this {
    if (this.installed) return this;
    this.installed = true;
    for (const [signal, handler] of this.handlers) process.on(signal, handler);
    return this;
  }

  dispose(): void {
    if (!this.installed) return;
    this.installed = false;
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
  }

  /**
   * Synchronous work that must happen even on a second Ctrl-C (release a lock, kill a child).
   * Returns a function that unregisters it once it is no longer needed.
   */
  onHardStop(cleanup: () => void): () => void {
    this.hardStops.push(cleanup);
    return () => {
      const at = this.hardStops.indexOf(cleanup);
      if (at >= 0) this.hardStops.splice(at, 1);
    };
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
      this.notify(`${signal === 'SIGINT' ? 'Interrupt' : signal}: ${this.firstStopText}. Press Ctrl-C again to stop at once.`);
      this.request();
      return;
    }
    this.notify('Second interrupt: stopping now; the step in flight is re-checked when the run is resumed.');
    for (const cleanup of this.hardStops.splice(0).reverse()) {
      try {
        cleanup();
      } catch {
        // Stopping now matters more than any one cleanup.
      }
    }
    this.dispose();
    process.kill(process.pid, signal);
  }
}

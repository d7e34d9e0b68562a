/**
 * Ctrl-C during a run. The first one asks the run to stop after the step in flight (long waits
 * end at once through the signal; writes finish). A second one stops immediately: the journal
 * then shows a started step without an end, which `resume` re-checks against the world.
 */
export class Interruption {
  private readonly controller = new AbortController();
  private readonly onSigint = () => this.handle();
  private count = 0;

  constructor(private readonly notify: (message: string) => void) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get requested(): boolean {
    return this.controller.signal.aborted;
  }

  install(): this {
    process.on('SIGINT', this.onSigint);
    return this;
  }

  dispose(): void {
    process.off('SIGINT', this.onSigint);
  }

  /** The same as a Ctrl-C, for an interrupt typed at a prompt. */
  request(): void {
    if (!this.requested) this.controller.abort(new Error('interrupted'));
  }

  private handle(): void {
    this.count += 1;
    if (this.count === 1) {
      this.notify('Interrupt: finishing the step in flight safely, then stopping. Press Ctrl-C again to stop at once.');
      this.request();
      return;
    }
    this.notify('Second interrupt: stopping now. Run `trimp-rollback resume` to re-check and continue.');
    this.dispose();
    process.kill(process.pid, 'SIGINT');
  }
}

/** After a clean interruption, end the process by SIGINT so that a calling shell stops too. */
export function exitBySigint(): void {
  process.removeAllListeners('SIGINT');
  process.kill(process.pid, 'SIGINT');
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalEvent } from '../engine/journal-events.js';
import type { PlannedStep } from '../engine/plan.js';
import type { RunWatcher } from '../engine/run.js';
import type { AdminApi } from '../target/admin-api.js';
import { takeSample } from './sample.js';

/** At the base interval for this many samples, then at twice the interval for as many more, and so on. */
export const SAMPLES_PER_DOUBLING = 1800;
/** The first sample covers this many intervals before the run began. */
export const LOOKBACK_INTERVALS = 5;
/** Samples that could not be read in a row before sampling gives up (the app has no metrics, or is down). */
export const FAILURES_BEFORE_GIVING_UP = 5;

export interface SamplerOptions {
  api: AdminApi;
  everyMs: number;
  /** Said once, when sampling gives up (a note: the run goes on without a series). */
  note: (text: string) => void;
}

/**
 * Samples the app's performance metrics beside a run, every `everyMs` (default a second), and
 * journals each sample: the series the report draws across the change. The first sample looks
 * back LOOKBACK_INTERVALS intervals from the start, so the state before the change is in the series even when
 * the change comes within the first second. While a gradual `monitor` step watches its window,
 * its own samples are the series and this one pauses (no double reading). Bounded: the interval
 * doubles every SAMPLES_PER_DOUBLING samples, and FAILURES_BEFORE_GIVING_UP unreadable samples
 * in a row end it, journaled and said once.
 */
export class MetricsSampler implements RunWatcher {
  private readonly controller = new AbortController();
  private paused = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SamplerOptions) {}

  started(_run: unknown, _totalSteps: number, record: (event: JournalEvent) => void): void {
    this.loop = this.sample(record);
  }

  stepStarted(step: PlannedStep): void {
    this.paused = step.action === 'monitor';
  }

  stepFinished(): void {
    this.paused = false;
  }

  stopped(): void {
    this.controller.abort();
  }

  /** Resolves once the loop has ended (after stopped()): nothing is journaled after that. */
  async settled(): Promise<void> {
    await this.loop;
  }

  private async sample(record: (event: JournalEvent) => void): Promise<void> {
    const { signal } = this.controller;
    const every = this.options.everyMs;
    // The first sample looks back further: the state before the change, on more evidence than one interval.
    let from = new Date(Date.now() - every * LOOKBACK_INTERVALS);
    let taken = 0;
    let failures = 0;
    const safely = (event: JournalEvent) => {
      try {
        record(event);
        return true;
      } catch {
        return false; // a journal that cannot be written is the run's problem, said there
      }
    };
    while (!signal.aborted) {
      const until = new Date();
      if (!this.paused) {
        const sample = await takeSample({ api: this.options.api, timeoutMs: every, logsDir: '', conditions: [], signal }, from, until);
        if (signal.aborted) break;
        if (!safely({ type: 'metrics.sample', from: from.toISOString(), ...sample })) break;
        taken += 1;
        failures = sample.error ? failures + 1 : 0;
        if (failures >= FAILURES_BEFORE_GIVING_UP) {
          const reason = `${failures} samples in a row could not be read (last: ${sample.error})`;
          safely({ type: 'metrics.stopped', reason, samples: taken });
          this.options.note(`metrics sampling stopped: ${reason}; the report has no series after this point`);
          break;
        }
      }
      from = until;
      const interval = every * 2 ** Math.floor(taken / SAMPLES_PER_DOUBLING);
      const wait = Math.max(0, until.getTime() + interval - Date.now());
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }
}

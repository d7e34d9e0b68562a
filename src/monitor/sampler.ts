import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlannedStep } from '../engine/plan.js';
import type { RunWatcher } from '../engine/run.js';
import { messageOf } from '../errors.js';
import type { SystemMetrics } from '../target/metrics.js';
import type { MetricsLine } from './metrics-file.js';
import { takeSample } from './sample.js';

/** At the base interval for this many samples, then at twice the interval for as many more, and so on. */
export const SAMPLES_PER_DOUBLING = 1800;
/** The first sample covers this many intervals before the run began. */
export const LOOKBACK_INTERVALS = 5;
/** Unreadable samples in a row before it is said (and the sampling slows down, up to BACKOFF_MAX_MS apart). */
export const FAILURES_BEFORE_SAYING = 5;
const BACKOFF_MAX_MS = 30_000;
/** A closing sample over a span shorter than this would be noise: not taken. */
const CLOSING_MIN_MS = 200;

export interface SamplerOptions {
  /** The whole app's figures over the last `windowS` seconds (every instance's, added up). */
  metrics: (windowS: number, signal: AbortSignal) => Promise<SystemMetrics>;
  everyMs: number;
  /** The run's metrics file (metrics.jsonl beside its journal). */
  file: string;
  /** Said on stderr: sampling slowed down, came back, or stopped (the run goes on regardless). */
  note: (text: string) => void;
}

/**
 * Samples the app's performance metrics beside a run, every `everyMs` (default a second), into
 * the run's metrics file: the series the report draws across the change. Its own file, not the
 * journal: a full disk or a torn line there costs charts, never the record of the rollback.
 *
 * - The first sample looks back LOOKBACK_INTERVALS intervals, so the state before the change is
 *   in the series even when the change comes within the first second.
 * - While a gradual `monitor` step watches its window, that window's samples are the series and
 *   this one pauses (no double reading).
 * - Unreadable samples (an app that is down, as it is during an application rollback) are kept
 *   as such and the sampling slows down, up to 30 s apart, but never gives up: the part after the
 *   change is the part the report exists for.
 * - Bounded: the interval doubles every SAMPLES_PER_DOUBLING samples.
 * - The run's end does not stop it: `finish()` does (after --observe), with a closing sample over
 *   the last partial interval.
 */
export class MetricsSampler implements RunWatcher {
  private readonly stopping = new AbortController();
  private paused = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SamplerOptions) {}

  started(): void {
    this.loop = this.sample();
  }

  stepStarted(step: PlannedStep): void {
    this.paused = step.action === 'monitor';
  }

  stepFinished(): void {
    this.paused = false;
  }

  /** The run ended: the sampling goes on until finish() (the command may observe a while longer). */
  stopped(): void {}

  /** Takes the closing sample and ends; nothing is written after it resolves. Idempotent. */
  async finish(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private write(line: MetricsLine): boolean {
    try {
      appendFileSync(this.options.file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
      return true;
    } catch (error) {
      this.options.note(
        `metrics sampling stopped: ${this.options.file} cannot be written (${messageOf(error)}); the report has no series after this point`,
      );
      return false;
    }
  }

  private async sample(): Promise<void> {
    const every = this.options.everyMs;
    let from = new Date(Date.now() - every * LOOKBACK_INTERVALS);
    let taken = 0;
    let failures = 0;
    for (;;) {
      const closing = this.stopping.signal.aborted;
      const until = new Date();
      if (!this.paused && !(closing && until.getTime() - from.getTime() < CLOSING_MIN_MS)) {
        // A read is bounded by its own timeout, not by finish(): the closing sample is read whole.
        const sample = await takeSample(
          {
            metrics: this.options.metrics,
            timeoutMs: Math.max(every, 2000),
            errorLines: async () => undefined,
            logsWhere: '',
            conditions: [],
            signal: new AbortController().signal,
          },
          from,
          until,
        );
        if (!this.write({ from: from.toISOString(), ...sample, took_ms: Date.now() - until.getTime() })) return;
        taken += 1;
        if (sample.error) {
          failures += 1;
          if (failures === FAILURES_BEFORE_SAYING)
            this.options.note(`metrics unreadable for ${failures} samples in a row (${sample.error}); still sampling, less often`);
        } else {
          if (failures >= FAILURES_BEFORE_SAYING) this.options.note(`metrics readable again after ${failures} unreadable samples`);
          failures = 0;
        }
      }
      from = until;
      if (closing) return;
      const base = every * 2 ** Math.floor(taken / SAMPLES_PER_DOUBLING);
      const interval =
        failures >= FAILURES_BEFORE_SAYING
          ? Math.min(Math.max(base, BACKOFF_MAX_MS), base * 2 ** (failures - FAILURES_BEFORE_SAYING + 1))
          : base;
      const wait = Math.max(0, until.getTime() + interval - Date.now());
      await sleep(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}

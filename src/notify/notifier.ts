import type { EscalationLevel, NotifySettings } from '../config/notify-config.js';
import type { JournalEvent } from '../engine/journal-events.js';
import type { PlannedStep } from '../engine/plan.js';
import type { RunResult } from '../engine/result.js';
import type { RunWatcher } from '../engine/run.js';
import { messageOf } from '../errors.js';
import { formatMs } from '../report/format.js';
import { type Channel, channelFor } from './channels.js';
import { endMessage, escalationMessage, type Message, progressMessage, type RunFacts, startMessage } from './messages.js';

/** Each delivery: this many tries, each bounded, a short pause between: a dead channel costs at most ~10.5 s. */
export const ATTEMPTS = 2;
export const ATTEMPT_TIMEOUT_MS = 5000;
const PAUSE_MS = 500;

/**
 * Tells the channels about a run (start, every `notify.every`, escalations, end) and announces
 * escalation levels on the terminal and in the journal. Deliveries run beside the rollback and
 * never hold it up: a channel that fails after its retries is a warning, journaled.
 */
export class RunNotifier implements RunWatcher {
  private readonly channels: Channel[];
  private readonly pending = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private record: (event: JournalEvent) => void = () => {};
  private facts: RunFacts | undefined;
  private step: PlannedStep | null = null;
  private finishedSteps = 0;
  private totalSteps = 0;

  constructor(
    private readonly settings: NotifySettings,
    private readonly warn: (text: string) => void,
    /** 1 in a real run; rehearsals run the escalation clock faster (1/60: a minute in a second). */
    private readonly clockScale = 1,
  ) {
    this.channels = settings.channels.map(channelFor);
  }

  started(facts: RunFacts, totalSteps: number, record: (event: JournalEvent) => void): void {
    this.facts = facts;
    this.totalSteps = totalSteps;
    this.record = record;
    const first = this.settings.escalation[0];
    const contacts = first ? `${first.team}${first.contacts.length ? ` (${first.contacts.join(', ')})` : ''}` : '';
    this.send(startMessage(facts, contacts));
    if (this.channels.length > 0) {
      const every = this.settings.everyMs * this.clockScale;
      this.timers.push(
        setInterval(() => {
          const elapsed = (Date.now() - facts.startedAt.getTime()) / this.clockScale;
          this.send(progressMessage(facts, elapsed, this.step ?? undefined, this.finishedSteps, this.totalSteps));
        }, every).unref(),
      );
    }
    this.settings.escalation.forEach((level, index) => {
      if (level.afterMs > 0) this.timers.push(setTimeout(() => this.escalate(index + 1, level), level.afterMs * this.clockScale).unref());
    });
  }

  stepStarted(step: PlannedStep): void {
    this.step = step;
  }

  stepFinished(): void {
    this.step = null;
    this.finishedSteps += 1;
  }

  stopped(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  /** The end: result, duration against budget, next steps, where the report is. */
  finished(result: RunResult, nextSteps: string[], report: string | undefined): void {
    if (this.facts) this.send(endMessage(this.facts, result, nextSteps, report));
  }

  /**
   * Waits for deliveries still under way (each bounded by its retries). The wait itself holds the
   * process open: with the run's sockets closed, nothing else would, and Node would end the
   * process mid-wait with exit code 0, whatever the run's result.
   */
  async flush(): Promise<void> {
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await Promise.allSettled([...this.pending]);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private escalate(level: number, { team, contacts, afterMs }: EscalationLevel): void {
    if (!this.facts) return;
    const when =
      this.clockScale === 1
        ? formatMs(afterMs)
        : `${formatMs(afterMs)} on the rehearsal clock, ${formatMs(afterMs * this.clockScale)} here`;
    this.warn(
      `escalation level ${level} (${when}): involve the ${team}${contacts.length ? `: ${contacts.join(', ')}` : ' (no contacts configured)'}`,
    );
    this.record({ type: 'run.escalated', level, team, after_ms: afterMs, contacts });
    this.send(escalationMessage(this.facts, level, team, afterMs, contacts));
  }

  private send(message: Message): void {
    for (const channel of this.channels) {
      const delivery = deliver(channel, message).then(
        () => {},
        (error: unknown) => {
          const reason = messageOf(error);
          this.warn(`warning: the ${message.kind} notification to ${channel.label} failed after ${ATTEMPTS} tries: ${reason}`);
          try {
            this.record({ type: 'notify.failed', channel: channel.label, kind: message.kind, error: reason });
          } catch {
            // A journal that cannot be written is the run's problem, said there; never the channel's.
          }
        },
      );
      this.pending.add(delivery);
      void delivery.finally(() => this.pending.delete(delivery));
    }
  }
}

/** One message to one channel: `attempts` tries (ATTEMPTS by default), each bounded whole; rejects with the last reason. */
export async function deliver(channel: Channel, message: Message, attempts = ATTEMPTS): Promise<void> {
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      // Bounded whole, not per socket read: a server that answers each command slowly counts too.
      await withDeadline(channel.send(message, ATTEMPT_TIMEOUT_MS), ATTEMPT_TIMEOUT_MS);
      return;
    } catch (error) {
      last = error;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
  throw last;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

import type { StampedEvent } from '../engine/journal-events.js';
import type { MetricsLine } from '../monitor/metrics-file.js';

/** One step as it ran: when it started and ended (the last attempt of it), and whether it changed the system. */
export interface TimelineStep {
  id: string;
  action: string;
  start: string;
  end: string;
  status: string;
  change: boolean;
}

/** One slice (all users, or a user type) of one metrics sample, placed at the middle of the span it covers. */
export interface SeriesPoint {
  at: string;
  from: string;
  until: string;
  slice: string;
  requests: number;
  errors: number;
  /** null when the slice saw no requests: no rate to draw. */
  error_rate: number | null;
  p95_ms: number | null;
  requests_per_s: number;
  /** Where the span lies against the first change: wholly before it, wholly after it, or across it. */
  phase: 'before' | 'after' | 'across' | 'no change';
  /** background: sampled beside the run; window: a gradual stage's monitoring window. */
  source: 'background' | 'window';
}

export interface RunTimeline {
  startedAt: string;
  /** The last event of the run (its end, or its observation's end). */
  endedAt: string;
  steps: TimelineStep[];
  /** The moments the system was changed: each changing step that finished having acted. */
  changes: { step: string; at: string }[];
  points: SeriesPoint[];
  /** Samples that could not be read (the app down or without metrics). */
  unreadable: number;
  /** How many consecutive samples were merged into each drawn point (0: none; a long run). */
  merged: number;
}

interface Span {
  from: string;
  at: string;
  slices: Record<string, { requests: number; errors: number; p95_ms: number }>;
  error?: string | undefined;
  source: SeriesPoint['source'];
}

/**
 * The run's story in time, read from its journal: steps as bands, the changes, and the metric
 * series (the background samples and the gradual windows' samples, which are one series: the
 * sampler pauses while a window samples). `isChange` says whether an action changes the system.
 */
export function runTimeline(
  events: readonly StampedEvent[],
  samples: readonly MetricsLine[],
  isChange: (action: string) => boolean,
): RunTimeline {
  const steps = new Map<string, TimelineStep>();
  const spans: Span[] = samples.map((sample) => ({ ...sample, source: 'background' as const }));
  for (const event of events) {
    if (event.type === 'step.started')
      steps.set(event.step, { id: event.step, action: event.action, start: event.ts, end: event.ts, status: 'running', change: false });
    else if (event.type === 'step.finished') {
      const step = steps.get(event.step);
      if (step) Object.assign(step, { end: event.ts, status: event.status, change: isChange(step.action) && acted(event) });
    } else if (event.type === 'step.observed' && event.name === 'monitor_sample') {
      const data = event.data as Partial<Span>;
      if (typeof data.from === 'string' && typeof data.at === 'string' && data.slices)
        spans.push({ from: data.from, at: data.at, slices: data.slices, error: data.error, source: 'window' });
    }
  }
  const ordered = [...steps.values()].sort((a, b) => a.start.localeCompare(b.start));
  const changes = ordered.filter((s) => s.change).map((s) => ({ step: s.id, at: s.end }));
  const first = changes[0]?.at;
  const phaseOf = (span: { from: string; at: string }): SeriesPoint['phase'] =>
    first === undefined ? 'no change' : span.at <= first ? 'before' : span.from >= first ? 'after' : 'across';
  const readable = spans.filter((s) => !s.error).sort((a, b) => a.at.localeCompare(b.at));
  const merged = Math.ceil(readable.length / MAX_DRAWN_SPANS);
  const points: SeriesPoint[] = [];
  for (const span of merged > 1 ? mergeSpans(readable, merged, phaseOf) : readable) {
    const from = Date.parse(span.from);
    const until = Date.parse(span.at);
    const seconds = Math.max(0.001, (until - from) / 1000);
    const phase = phaseOf(span);
    for (const [slice, f] of Object.entries(span.slices))
      points.push({
        at: new Date((from + until) / 2).toISOString(),
        from: span.from,
        until: span.at,
        slice,
        requests: f.requests,
        errors: f.errors,
        error_rate: f.requests > 0 ? f.errors / f.requests : null,
        p95_ms: f.requests > 0 ? f.p95_ms : null,
        requests_per_s: f.requests / seconds,
        phase,
        source: span.source,
      });
  }
  const startedAt = events.find((e) => e.type === 'run.started')?.ts ?? events[0]?.ts ?? new Date(0).toISOString();
  const lastEvent = events.findLast((e) => e.type.startsWith('run.'))?.ts ?? startedAt;
  // ISO times of one zone sort as text: the latest of the run's end and its last sample.
  const lastSample = [lastEvent, ...spans.map((s) => s.at)].sort().at(-1) ?? lastEvent;
  return {
    startedAt,
    endedAt: lastSample,
    steps: ordered,
    changes,
    points,
    unreadable: spans.filter((s) => s.error).length,
    merged: merged > 1 ? merged : 0,
  };
}

/** More spans than this are merged for drawing: a page of a long run stays a few hundred KB. */
export const MAX_DRAWN_SPANS = 600;

/**
 * Consecutive spans merged `size` at a time (never across the change, nor a window's samples with
 * the background's): counts add up, and p95 is the largest of the merged ones (an upper bound).
 */
function mergeSpans(spans: Span[], size: number, phaseOf: (s: Span) => string): Span[] {
  const out: Span[] = [];
  let group: Span[] = [];
  const flush = () => {
    const firstSpan = group[0];
    const lastSpan = group.at(-1);
    if (!firstSpan || !lastSpan) return;
    const slices: Span['slices'] = {};
    for (const span of group)
      for (const [name, f] of Object.entries(span.slices)) {
        const sum = slices[name] ?? { requests: 0, errors: 0, p95_ms: 0 };
        slices[name] = { requests: sum.requests + f.requests, errors: sum.errors + f.errors, p95_ms: Math.max(sum.p95_ms, f.p95_ms) };
      }
    out.push({ from: firstSpan.from, at: lastSpan.at, slices, source: firstSpan.source });
    group = [];
  };
  for (const span of spans) {
    const previous = group.at(-1);
    if (previous && (group.length >= size || previous.source !== span.source || phaseOf(previous) !== phaseOf(span))) flush();
    group.push(span);
  }
  flush();
  return out;
}

/** A changing step acted when it succeeded (or warned); one that found nothing to change did not. */
function acted(event: Extract<StampedEvent, { type: 'step.finished' }>): boolean {
  if (event.status !== 'succeeded' && event.status !== 'warned') return false;
  return event.noop !== true;
}

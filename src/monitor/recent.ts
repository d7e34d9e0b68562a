import type { SystemMetrics } from '../target/metrics.js';

export interface RecentErrors {
  window_s: number;
  requests: number;
  errors: number;
  /** Oldest first: each slice's requests and errors; empty when the app cannot be asked for shorter spans. */
  slices: { requests: number; errors: number }[];
}

/**
 * The last `windowS` seconds of errors, in `count` equal slices. The app only answers "the last N
 * seconds", so the slices are differences of nested windows read at once: the requests of the
 * last 60 s minus those of the last 54 s are those of the slice 60–54 s ago. An app that ignores
 * ?window= gets no slices (they would all be the same span), only the total.
 */
export async function readRecentErrors(
  metrics: (windowS: number) => Promise<SystemMetrics>,
  windowS = 60,
  count = 10,
): Promise<RecentErrors> {
  const spans = Array.from({ length: count }, (_, i) => (windowS * (count - i)) / count);
  // Every instance's requests: the app's error rate, not the first instance's.
  const read = await Promise.all(spans.map((span) => metrics(span)));
  // The reads land at slightly different moments: a shorter window read later can count a request
  // a longer one read earlier missed. A longer window holds at least what a shorter one does, so
  // each count is raised to the next shorter window's: the slices then add up to the whole.
  const nested = read.map((m) => ({ ...m }));
  for (let i = nested.length - 2; i >= 0; i--) {
    const longer = nested[i] as (typeof nested)[number];
    const shorter = nested[i + 1] as (typeof nested)[number];
    longer.requests = Math.max(longer.requests, shorter.requests);
    longer.errors = Math.max(longer.errors, shorter.errors);
  }
  const whole = nested[0];
  if (!whole) throw new Error('no slices asked');
  // An app that says its span must say the one asked; one that does not say must answer shorter
  // windows with fewer requests (identical totals for 60 s and 6 s: it ignored ?window=).
  const said = nested.every((m) => m.window_seconds !== undefined);
  const honoured = said
    ? nested.every((m, i) => Math.abs((m.window_seconds ?? 0) - (spans[i] ?? 0)) < 1)
    : nested.some((m) => m.requests !== whole.requests) || whole.requests === 0;
  const slices = honoured
    ? nested.map((m, i) => {
        const next = nested[i + 1];
        // Traffic moves between the reads: a difference below zero is none.
        return {
          requests: Math.max(0, m.requests - (next?.requests ?? 0)),
          errors: Math.max(0, m.errors - (next?.errors ?? 0)),
        };
      })
    : [];
  return { window_s: windowS, requests: whole.requests, errors: whole.errors, slices };
}

/** Request and TRIMP counters over a sliding window, so that a rollback shows within seconds. */
interface Sample {
  at: number;
  latencyMs: number;
  error: boolean;
  /** The user's type (admin, beta, regular) when the request named a known user. */
  userType?: string;
  calculation?: { method: string; failed: boolean };
}

export class Metrics {
  private samples: Sample[] = [];
  private totals = { requests: 0, errors: 0 };

  /**
   * Figures are kept for 15 minutes (the seed's monitoring window), so "since the change" stays
   * true for a while after it; the default view is the last minute.
   */
  constructor(
    private readonly retainMs = 15 * 60_000,
    private readonly defaultWindowMs = 60_000,
  ) {}

  /**
   * A request is counted at the moment it *started*: one that began before a rollback and
   * ended after it is evidence about the app before the change, not after.
   */
  record(sample: Omit<Sample, 'at'>): void {
    this.samples.push({ at: Date.now() - sample.latencyMs, ...sample });
    this.totals.requests += 1;
    if (sample.error) this.totals.errors += 1;
    if (this.samples.length > 200_000) this.trim();
  }

  /** Figures over the window (default the whole window; a shorter one to see a change at once). */
  snapshot(windowMs = this.defaultWindowMs): Record<string, unknown> {
    this.trim();
    const since = Date.now() - Math.min(windowMs, this.retainMs);
    const window = this.samples.filter((s) => s.at >= since);
    const calcs = window.filter((s) => s.calculation);
    const perMethod: Record<string, { calculations: number; failures: number }> = {};
    for (const s of calcs) {
      const { method, failed } = s.calculation!;
      const m = perMethod[method] ?? { calculations: 0, failures: 0 };
      perMethod[method] = { calculations: m.calculations + 1, failures: m.failures + (failed ? 1 : 0) };
    }
    const perUserType: Record<string, ReturnType<typeof figures>> = {};
    for (const type of [...new Set(window.flatMap((s) => (s.userType ? [s.userType] : [])))].sort())
      perUserType[type] = figures(window.filter((s) => s.userType === type));
    return {
      window_seconds: Math.min(windowMs, this.retainMs) / 1000,
      ...figures(window),
      per_user_type: perUserType,
      per_method: perMethod,
      total_requests: this.totals.requests,
      total_errors: this.totals.errors,
    };
  }

  private trim(): void {
    const since = Date.now() - this.retainMs;
    // Not sorted by start (a slow request is recorded after faster, later ones): filter.
    this.samples = this.samples.filter((s) => s.at >= since);
  }
}

/** Requests, errors, latency and TRIMP calculations of one slice of the window (one user type). */
function figures(samples: Sample[]) {
  const errors = samples.filter((s) => s.error).length;
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const calcs = samples.filter((s) => s.calculation);
  return {
    requests: samples.length,
    errors,
    error_rate: samples.length ? errors / samples.length : 0,
    latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) },
    trimp_calculations: calcs.length,
    trimp_failures: calcs.filter((s) => s.calculation!.failed).length,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const value = sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return Math.round(value * 100) / 100;
}

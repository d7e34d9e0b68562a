const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * Rates (0..1) as a row of bars, one per value, on a fixed scale from 0 to the largest value
 * (at least `floor`, so that 0.1 % noise is not drawn as a full bar); an unknown value (a sample
 * that could not be read) is a space. Only the last `width` values are drawn.
 */
export function sparkline(values: readonly (number | null)[], options: { width?: number; floor?: number } = {}): string {
  const shown = values.slice(-(options.width ?? 20));
  const top = Math.max(options.floor ?? 0.05, ...shown.map((v) => v ?? 0));
  return shown
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const level = Math.round((Math.min(Math.max(v, 0), top) / top) * (BARS.length - 1));
      return BARS[level];
    })
    .join('');
}

/** A sample's error rate, or null when it saw no requests or could not be read. */
export function errorRateOf(figures: { requests: number; errors: number } | undefined): number | null {
  return figures && figures.requests > 0 ? figures.errors / figures.requests : null;
}

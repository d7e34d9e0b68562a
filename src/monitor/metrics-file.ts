import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** The run's metrics file: one sample per line, beside its journal. */
export function metricsPath(journal: string): string {
  return join(dirname(journal), 'metrics.jsonl');
}

const count = z.number().int().nonnegative();
const line = z.object({
  from: z.iso.datetime(),
  at: z.iso.datetime(),
  slices: z.record(
    z.string(),
    z.object({
      requests: count,
      errors: count,
      p95_ms: z.number().nonnegative(),
      calculations: count.optional(),
      failures: count.optional(),
    }),
  ),
  error: z.string().max(10_000).optional(),
  /** How long the read took, from the interval's end to the line written (what a sample costs). */
  took_ms: z.number().nonnegative().optional(),
});

/** One sample: the app's figures over [from, at], per slice (all users, each user type), or why it could not be read. */
export type MetricsLine = z.output<typeof line>;

/** A file larger than this is not ours (a run sampling every second for a day writes about 40 MB). */
const MAX_BYTES = 256 * 1024 * 1024;

/**
 * The samples of a run, oldest first. A line that is not a sample (torn by a full disk or a kill)
 * is skipped and counted: the series is evidence for a chart, not for a decision.
 */
export function readMetricsFile(journal: string): { samples: MetricsLine[]; skipped: number } {
  const path = metricsPath(journal);
  if (!existsSync(path)) return { samples: [], skipped: 0 };
  const text = readFileSync(path, 'utf8').slice(0, MAX_BYTES);
  const samples: MetricsLine[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    try {
      const parsed = line.safeParse(JSON.parse(raw));
      if (parsed.success) samples.push(parsed.data);
      else skipped += 1;
    } catch {
      skipped += 1;
    }
  }
  return { samples, skipped };
}

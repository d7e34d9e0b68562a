/**
 * Error lines grouped by shape: the message with its numbers, hex ids and quoted values masked,
 * so that a thousand "TRIMP calculation failed: user_id=17 ..." lines are one pattern, counted,
 * with when it was first and last seen and one example as it was written.
 */
export interface ErrorPattern {
  shape: string;
  level: string;
  count: number;
  first_seen: string;
  last_seen: string;
  example: string;
}

import { type LogFormat, SEED_LOG_FORMAT } from './app-log-reader.js';

const LEVELS = new Set(['ERROR', 'CRITICAL', 'WARNING']);

export function shapeOf(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/-?\d+(\.\d+)?/g, '#');
}

/** The error patterns in `lines` stamped at or after `since` (every line when undefined), most frequent first. */
export function errorPatterns(lines: Iterable<string>, since?: Date, format: LogFormat = SEED_LOG_FORMAT): ErrorPattern[] {
  const byShape = new Map<string, ErrorPattern>();
  const seen = new Set<string>(); // the same line in error.log and application.log counts once
  for (const line of lines) {
    const parsed = format.parse(line);
    if (!parsed || !LEVELS.has(parsed.level) || seen.has(line)) continue;
    seen.add(line);
    const { at, level, message } = parsed;
    const stamp = at.toISOString();
    if (since && at < since) continue;
    const key = `${level} ${shapeOf(message)}`;
    const known = byShape.get(key);
    if (known) {
      known.count += 1;
      if (stamp < known.first_seen) known.first_seen = stamp;
      if (stamp > known.last_seen) known.last_seen = stamp;
    } else byShape.set(key, { shape: shapeOf(message), level, count: 1, first_seen: stamp, last_seen: stamp, example: message });
  }
  return [...byShape.values()].sort((a, b) => b.count - a.count || a.first_seen.localeCompare(b.first_seen));
}

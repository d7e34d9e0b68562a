import { parseDuration } from '../actions/params.js';
import { usageError } from '../errors.js';

/** A duration option (30s, 5m, 1h), bounded: exit 2 with what was wrong. */
export function parseDurationOption(flag: string, text: string, maxMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw usageError('option-invalid', `${flag} must be a duration such as 30s, 2m or 1h, not "${text}"`);
  }
  if (ms > maxMs) throw usageError('option-invalid', `${flag} is at most ${maxMs / 60_000} min, not ${text}`);
  return ms;
}

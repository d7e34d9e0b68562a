import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The public app's ways with its answers and logs, as Flask and Python give them: JSON with its
 * keys sorted (jsonify), dates as HTTP dates, password hashes as werkzeug writes them, log lines
 * in Python logging's format on stderr.
 */

/** jsonify: keys sorted at every level. */
export function jsonify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  return value;
}

/** A date as Flask serialises it: "Sat, 28 Nov 2026 00:00:00 GMT". */
export function httpDate(text: string | Date): string {
  const date = typeof text === 'string' ? new Date(`${text.slice(0, 10)}T00:00:00Z`) : text;
  return date.toUTCString();
}

/** Few iterations: the sandbox logs in often; the shape is werkzeug's (method:hash:iterations$salt$hex). */
const ITERATIONS = 2000;

export function hashPassword(password: string): string {
  const salt = randomBytes(12)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 16);
  const hex = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256').toString('hex');
  return `pbkdf2:sha256:${ITERATIONS}$${salt}$${hex}`;
}

export function verifyPassword(hash: string, password: string): boolean {
  const match = /^pbkdf2:sha256:(\d+)\$([^$]+)\$([0-9a-f]+)$/.exec(hash);
  if (!match) return false;
  const expected = Buffer.from(match[3] as string, 'hex');
  const got = pbkdf2Sync(password, match[2] as string, Number(match[1]), expected.length, 'sha256');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** `2026-11-29 04:58:16,092 - strava_app - INFO - message`, in local time, as logging.basicConfig writes it. */
export function pythonLogLine(logger: string, level: string, message: string, at = new Date()): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())},${pad(at.getMilliseconds(), 3)}`;
  return `${stamp} - ${logger} - ${level} - ${message}\n`;
}

/** A Python dict's repr, for the log lines that print one. */
export function pythonRepr(value: Record<string, unknown>): string {
  const item = (v: unknown): string =>
    v === null || v === undefined
      ? 'None'
      : typeof v === 'boolean'
        ? v
          ? 'True'
          : 'False'
        : typeof v === 'number'
          ? String(v)
          : `'${String(v)}'`;
  return `{${Object.entries(value)
    .map(([k, v]) => `'${k}': ${item(v)}`)
    .join(', ')}}`;
}

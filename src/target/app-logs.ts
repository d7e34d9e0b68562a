import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The app's logs, read from their ends: one timestamped line per event
 * ("2026-11-29T09:00:00.000Z ERROR message"), as the seed's app and the sandbox write them.
 */

/** Error-log lines (ERROR or CRITICAL) stamped in [from, until), from `error.log` in `logsDir`. Undefined without a log. */
export async function errorLinesBetween(logsDir: string, from: Date, until: Date): Promise<string[] | undefined> {
  const text = await tailSince(join(logsDir, 'error.log'), from, 4 * 1024 * 1024);
  if (text === undefined) return undefined;
  const lines: string[] = [];
  for (const match of text.matchAll(/^(\S+) (?:ERROR|CRITICAL)\b.*$/gm)) {
    const at = new Date(match[1] as string);
    if (at >= from && at < until) lines.push(match[0]);
  }
  return lines;
}

/**
 * The end of a log from `since` on (at most `maxBytes`): read backwards in growing chunks until
 * the first whole line is older than `since`, so a check after a run reads kilobytes, not the
 * whole tail. Undefined when the file does not exist.
 */
export async function tailSince(
  path: string,
  since: Date,
  maxBytes: number,
  stampOf: (line: string) => Date | undefined = (line) => new Date(/^(\S+) /.exec(line)?.[1] ?? ''),
): Promise<string | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return undefined;
  }
  const limit = Math.min(size, maxBytes);
  let length = Math.min(limit, 64 * 1024);
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      let text = buffer.toString('utf8');
      if (length < size) text = text.slice(text.indexOf('\n') + 1); // a partial first line
      const first = stampOf(text.slice(0, text.indexOf('\n') >>> 0));
      if (length >= limit || (first !== undefined && first < since)) return text;
      length = Math.min(limit, length * 4);
    }
  } finally {
    await handle.close();
  }
}

/** The last `maxBytes` of a file as lines, or undefined when it does not exist. */
export async function tailLines(path: string, maxBytes: number): Promise<string[] | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return undefined;
  }
  const length = Math.min(size, maxBytes);
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (length < size) lines.shift(); // a partial first line
    return lines.filter(Boolean);
  } finally {
    await handle.close();
  }
}

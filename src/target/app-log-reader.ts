import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import type { LogSource } from '../config/config.js';
import { withoutSecrets } from '../config/secret.js';
import { messageOf, TrimpError } from '../errors.js';
import { errorLinesBetween, tailLines, tailSince } from './app-logs.js';

/** One line of the app's log, as its format says it. */
export interface LogLine {
  at: Date;
  level: string;
  /** What follows the stamp and level (and logger). */
  message: string;
  /** The whole line, as written. */
  text: string;
}

/** How an app writes a line: the seed's ("2026-…Z ERROR message") or Python logging's. */
export interface LogFormat {
  readonly name: string;
  parse(line: string): LogLine | undefined;
  /** The same format with its stamps read in another zone (target.logs.timezone), when its stamps carry none. */
  inZone?(zone: string): LogFormat;
}

/** The seed's app and the sandbox: `2026-11-29T09:00:00.000Z ERROR message`. */
export const SEED_LOG_FORMAT: LogFormat = {
  name: 'ISO-time LEVEL message',
  parse(line) {
    const match = /^(\S+) ([A-Z]+)\b ?(.*)$/.exec(line);
    if (!match) return undefined;
    const at = new Date(match[1] as string);
    return Number.isNaN(at.getTime()) ? undefined : { at, level: match[2] as string, message: match[3] ?? '', text: line };
  },
};

/**
 * Python logging's `%(asctime)s - %(name)s - %(levelname)s - %(message)s`, the public app's:
 * `2026-11-29 04:58:16,092 - strava_app - INFO - …`, in the server's local time.
 */
export const PYTHON_LOG_FORMAT: LogFormat = pythonLogFormat(undefined);

/** `offsetMinutes` east of UTC; undefined: this machine's local time (the app's, when they share a host). */
function pythonLogFormat(offsetMinutes: number | undefined): LogFormat {
  return {
    name: 'asctime - logger - LEVEL - message',
    parse(line) {
      const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) - (\S+) - ([A-Z]+) - (.*)$/.exec(line);
      if (!match) return undefined;
      const [y, mo, d, h, mi, s, ms] = match.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
      const at =
        offsetMinutes === undefined
          ? new Date(y, mo - 1, d, h, mi, s, ms)
          : new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMinutes * 60_000);
      return { at, level: match[9] as string, message: `${match[8]}: ${match[10]}`, text: line };
    },
    inZone: (zone) => pythonLogFormat(zoneOffset(zone)),
  };
}

/** "local", "UTC", or an offset such as "+09:00" / "-05:30" (checked by the config's schema). */
export function zoneOffset(zone: string): number | undefined {
  if (zone === 'local') return undefined;
  if (zone === 'UTC') return 0;
  const match = /^([+-])(\d\d):(\d\d)$/.exec(zone);
  if (!match) return undefined;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/** Where the app's log lines come from, read the same way whatever the source. */
export interface AppLogReader {
  /** For messages: "error.log, application.log under DIR", "FILE", "the output of CMD". */
  readonly where: string;
  /** For a line of evidence: "error.log", the file's name, or the command's. */
  readonly label: string;
  /** Lines stamped at or after `since`, from the end of each source (undefined: there is no log). */
  linesSince(since: Date): Promise<LogLine[] | undefined>;
  /** The last `maxBytes` of each source as raw lines (undefined: there is no log). */
  tails(maxBytes: number): Promise<{ source: string; lines: string[] }[] | undefined>;
  /** ERROR and CRITICAL lines stamped in [from, until) (undefined: there is no log). */
  errorLines(from: Date, until: Date): Promise<string[] | undefined>;
}

const ERROR_LEVELS = new Set(['ERROR', 'CRITICAL']);

function errorsIn(lines: LogLine[] | undefined, until: Date): string[] | undefined {
  return lines?.filter((line) => ERROR_LEVELS.has(line.level) && line.at < until).map((line) => line.text);
}

const TAIL_BYTES = 4 * 1024 * 1024;
const SEED_FILES = ['error.log', 'application.log', 'trimp_calculation.log'];

/**
 * target.logs when the config names it (a file, or a command such as `journalctl -u app -o cat`,
 * run without a shell); otherwise the seed's log files under target.logs_dir.
 */
export function appLogReader(source: LogSource | undefined, logsDir: string, appFormat: LogFormat): AppLogReader {
  // An app in another zone than this machine (a container in UTC) stamps its lines in its own.
  const format = source?.timezone && appFormat.inZone ? appFormat.inZone(source.timezone) : appFormat;
  if (source && 'file' in source) return { ...fileReader([source.file], source.file, format), label: basename(source.file) };
  if (source) return { ...commandReader(source.command, format), label: basename(source.command[0] as string) };
  const seedFiles = fileReader(
    SEED_FILES.map((name) => join(logsDir, name)),
    `${SEED_FILES.join(', ')} under ${logsDir}`,
    format,
    async () => (await readdir(logsDir).catch(() => [] as string[])).filter((n) => /\.(log|out|err)$/.test(n)).map((n) => join(logsDir, n)),
  );
  // The seed's app writes every error to error.log: the monitor and advice count those lines.
  return { ...seedFiles, label: 'error.log', errorLines: (from, until) => errorLinesBetween(logsDir, from, until) };
}

function fileReader(files: string[], where: string, format: LogFormat, allFiles?: () => Promise<string[]>): Omit<AppLogReader, 'label'> {
  return {
    where,
    async linesSince(since) {
      // The same line in error.log and application.log counts once.
      const seen = new Map<string, LogLine>();
      let read = 0;
      for (const file of files) {
        const text = await tailSince(file, since, TAIL_BYTES, (line) => format.parse(line)?.at);
        if (text === undefined) continue;
        read += 1;
        for (const raw of text.split('\n')) {
          const line = format.parse(raw);
          if (line && line.at >= since) seen.set(raw, line);
        }
      }
      return read === 0 ? undefined : [...seen.values()];
    },
    async tails(maxBytes) {
      const out: { source: string; lines: string[] }[] = [];
      for (const file of allFiles ? await allFiles() : files) {
        const lines = await tailLines(file, maxBytes);
        if (lines) out.push({ source: allFiles ? basename(file) : file, lines });
      }
      return out.length === 0 ? undefined : out;
    },
    async errorLines(from, until) {
      return errorsIn(await this.linesSince(from), until);
    },
  };
}

const run = promisify(execFile);

/** A command that prints the app's log (its output, both streams, is read whole, up to 16 MiB, within 30 s). */
function commandReader(argv: string[], format: LogFormat): Omit<AppLogReader, 'label'> {
  const where = `the output of ${argv.join(' ')}`;
  const read = async (): Promise<string[]> => {
    const [program, ...args] = argv as [string, ...string[]];
    try {
      const { stdout, stderr } = await run(program, args, {
        maxBuffer: 16 * 1024 * 1024,
        timeout: 30_000,
        env: withoutSecrets(process.env),
        encoding: 'utf8',
      });
      // Both streams: `docker logs` prints the container's stderr (the app's log) on its own stderr.
      return `${stdout}\n${stderr}`.split('\n').filter(Boolean);
    } catch (error) {
      const failed = error as { code?: unknown; killed?: boolean; stderr?: string };
      const said = (failed.stderr ?? '').trim().split('\n').at(-1)?.slice(0, 200);
      const why = failed.killed
        ? 'no end within 30 s'
        : typeof failed.code === 'number'
          ? `exit ${failed.code}${said ? `: ${said}` : ''}`
          : messageOf(error).split('\n')[0];
      throw new TrimpError('logs-command', `target.logs.command ${argv.join(' ')} failed (${why})`, {
        remedy: 'run it by hand; it must print the app log lines and exit 0',
      });
    }
  };
  return {
    where,
    async linesSince(since) {
      return (await read()).flatMap((raw) => {
        const line = format.parse(raw);
        return line && line.at >= since ? [line] : [];
      });
    },
    async tails(maxBytes) {
      const lines = await read();
      let size = 0;
      let start = lines.length;
      while (start > 0 && size + (lines[start - 1] as string).length + 1 <= maxBytes) size += (lines[--start] as string).length + 1;
      return [{ source: argv.join(' '), lines: lines.slice(start) }];
    },
    async errorLines(from, until) {
      return errorsIn(await this.linesSince(from), until);
    },
  };
}

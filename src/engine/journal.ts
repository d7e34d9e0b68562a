import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { redactValue } from '../config/secret.js';
import { fileSystemError, TrimpError, usageError } from '../errors.js';
import { ensureDirectory } from './files.js';
import { type JournalEvent, journalSchemas, type StampedEvent } from './journal-events.js';
import { runIdTime } from './run-id.js';

export type { JournalEvent, StampedEvent } from './journal-events.js';

/**
 * The run's journal: one JSON event per line, appended and fsynced as things happen, so that
 * after a crash it says exactly which step had started and which had finished.
 *
 * An append lands whole or not at all: a short write (a full disk) is cut back to the last
 * whole line and the run stops, because a run whose journal cannot be trusted must not go on
 * changing things.
 */
export function runsDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

export function journalPath(stateDir: string, runId: string): string {
  return join(runsDir(stateDir), runId, 'journal.jsonl');
}

export class Journal {
  private broken: TrimpError | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private size: number,
  ) {}

  /** A new run's journal. */
  static create(stateDir: string, runId: string): Journal {
    return Journal.openAt(stateDir, runId, true);
  }

  private static openAt(stateDir: string, runId: string, fresh: boolean): Journal {
    const path = journalPath(stateDir, runId);
    try {
      ensureDirectory(runsDir(stateDir));
      // A new run gets a directory of its own, exclusively: never another run's journal.
      if (fresh) mkdirSync(join(runsDir(stateDir), runId), { mode: 0o700 });
      const fd = openSync(path, 'a+', 0o600); // read too: a continuation looks at the last line
      return new Journal(path, fd, fstatSync(fd).size);
    } catch (error) {
      throw fileSystemError(error, 'the journal could not be created');
    }
  }

  /**
   * An earlier run's journal, to continue it. If its last line was torn (the process died
   * mid-write), the continuation starts on a fresh line and says which line it left behind.
   */
  static reopen(stateDir: string, runId: string): Journal {
    const journal = Journal.openAt(stateDir, runId, false);
    const torn = tornTail(journal.fd, journal.size);
    if (torn) journal.appendRaw(`\n${JSON.stringify({ ts: new Date().toISOString(), type: 'journal.repaired', ...torn })}\n`);
    return journal;
  }

  append(event: JournalEvent): void {
    this.appendRaw(`${JSON.stringify(redactValue({ ts: new Date().toISOString(), ...event }))}\n`);
  }

  /** Removes the journal and its run directory if nothing was ever written to it. */
  discardIfEmpty(): void {
    if (this.size > 0) return;
    this.close();
    try {
      rmSync(dirname(this.path), { recursive: true, force: true });
    } catch {
      // Left behind: an empty journal is reported as unreadable, never acted on.
    }
  }

  close(): void {
    if (this.closed) return; // twice would close whatever file reused the descriptor
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed, or the disk went away: nothing more to keep.
    }
  }

  private appendRaw(text: string): void {
    if (this.broken) throw this.broken;
    const bytes = Buffer.from(text);
    let written = 0;
    try {
      while (written < bytes.length) {
        const n = writeSync(this.fd, bytes, written, bytes.length - written);
        if (n <= 0) throw Object.assign(new Error('no bytes written'), { code: 'ENOSPC' });
        written += n;
      }
      fsyncSync(this.fd);
      this.size += bytes.length;
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.size); // back to the last whole line
      } catch {
        // The reader skips a torn last line, and says so.
      }
      this.broken = journalWriteError(this.path, error);
      throw this.broken;
    }
  }
}

function journalWriteError(path: string, error: unknown): TrimpError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'disk full' : ((error as Error).message ?? String(error));
  return new TrimpError('journal-write', `the journal could not be written: ${why} (${path}); the run stopped here`, {
    remedy: 'free space or fix the state directory, then resume the run (the step in flight is re-checked first)',
  });
}

/** The torn last line, if the file does not end with a newline: its line number and length. */
function tornTail(fd: number, size: number): { torn_line: number; bytes: number } | undefined {
  if (size === 0) return undefined;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 0x0a) return undefined;
  const text = readFileSync(fd, 'utf8');
  const lines = text.split('\n');
  return { torn_line: lines.length, bytes: Buffer.byteLength(lines.at(-1) ?? '') };
}

export interface JournalRead {
  events: StampedEvent[];
  /** What the reader skipped and why, for the operator. */
  notes: string[];
}

/** Journals beyond this are not ours: refuse rather than read gigabytes. */
const MAX_JOURNAL_BYTES = 64 * 1024 * 1024;

/**
 * Reads and validates a journal. A torn last line (the process died mid-write) is skipped and
 * noted; so is a torn line that a later attempt marked as repaired. Anything else that is not
 * a valid event is damage: exit 2, naming the file and the line.
 */
export function readJournal(path: string): JournalRead {
  if (!existsSync(path)) {
    const stateDir = dirname(dirname(dirname(path)));
    throw usageError('run-unknown', `no journal at ${path}`, `list the runs there with: trimp-rollback runs list --state-dir ${stateDir}`);
  }
  let text: string;
  try {
    if (!statSync(path).isFile()) throw usageError('journal-invalid', `${path} is not a file`, 'a journal is a file of JSON lines');
    if (statSync(path).size > MAX_JOURNAL_BYTES)
      throw usageError('journal-invalid', `${path} is larger than ${MAX_JOURNAL_BYTES / 1024 / 1024} MiB: not a journal of this tool`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof TrimpError) throw error;
    throw fileSystemError(error, 'the journal could not be read');
  }
  const lines = text.split('\n');
  const endsWhole = text.endsWith('\n');
  const events: StampedEvent[] = [];
  const notes: string[] = [];
  const parsed = lines.map((line) => (line.trim() ? parseEvent(line) : undefined));
  for (let i = 0; i < lines.length; i++) {
    const entry = parsed[i];
    if (entry === undefined) continue;
    if (entry.ok) {
      events.push(entry.event);
      continue;
    }
    const lineNo = i + 1;
    const isLast = parsed.slice(i + 1).every((next) => next === undefined);
    if (isLast && !endsWhole) {
      notes.push(`${path}:${lineNo}: the last line was cut short (the process stopped mid-write); it is ignored`);
      continue;
    }
    const next = parsed.slice(i + 1).find((candidate) => candidate !== undefined);
    if (next?.ok && next.event.type === 'journal.repaired' && next.event.torn_line === lineNo) {
      notes.push(`${path}:${lineNo}: a line cut short by an earlier crash is ignored (marked by the attempt that followed)`);
      continue;
    }
    throw usageError(
      'journal-invalid',
      `${path}:${lineNo}: the journal is damaged: ${entry.reason}`,
      'nothing was done; inspect the file (it is evidence) and start a new run if needed',
    );
  }
  return { events, notes };
}

type Parsed = { ok: true; event: StampedEvent } | { ok: false; reason: string };

function parseEvent(line: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const result = journalSchemas().stampedEventSchema.safeParse(value);
  if (result.success) return { ok: true, event: result.data as StampedEvent };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return { ok: false, reason: `not a journal event (${where}${issue?.message ?? 'invalid'})` };
}

/** Run ids sort by time to the millisecond, so the newest is the last one. */
export function listRunIds(stateDir: string): string[] {
  const dir = runsDir(stateDir);
  if (!existsSync(dir)) return [];
  try {
    const byTime = (id: string) => runIdTime(id)?.getTime() ?? 0;
    return readdirSync(dir)
      .filter((name) => existsSync(join(dir, name, 'journal.jsonl')))
      .sort((a, b) => byTime(a) - byTime(b) || (a < b ? -1 : a > b ? 1 : 0));
  } catch (error) {
    throw fileSystemError(error, 'the runs could not be listed');
  }
}

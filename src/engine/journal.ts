import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { redact, type Secret } from '../config/secret.js';
import { usageError } from '../errors.js';

/**
 * The run's journal: one JSON event per line, appended and fsynced as things happen, so that
 * after a crash it says exactly which step had started and which had finished.
 */
export type JournalEvent =
  | {
      type: 'run.started';
      run_id: string;
      runbook: { id: string; file: string; hash: string };
      operator: string;
      reason: string | null;
      pid: number;
      dry_run: false;
      via: string;
      inputs: Record<string, unknown>;
      target: Record<string, unknown>;
      config_file: string | null;
    }
  | { type: 'run.resumed'; run_id: string; attempt: number; operator: string; reason: string | null; pid: number }
  | { type: 'lock.taken_over'; previous: unknown; reason: string }
  | { type: 'step.started'; step: string; index: number; action: string; params: unknown; attempt: number }
  | { type: 'step.rechecked'; step: string; done: boolean; summary: string; evidence?: unknown }
  | { type: 'step.observed'; step: string; name: string; data: unknown }
  | { type: 'step.finished'; step: string; status: string; summary: string; duration_ms: number; evidence?: unknown; warnings?: string[] }
  | { type: 'step.declined'; step: string; answer: string }
  | { type: 'run.interrupted'; step: string | null; duration_ms: number }
  | { type: 'run.finished'; status: string; duration_ms: number };

export type StampedEvent = JournalEvent & { ts: string };

export function runsDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

export function journalPath(stateDir: string, runId: string): string {
  return join(runsDir(stateDir), runId, 'journal.jsonl');
}

export class Journal {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly secrets: readonly (Secret | undefined)[],
  ) {}

  static create(stateDir: string, runId: string, secrets: readonly (Secret | undefined)[]): Journal {
    const path = journalPath(stateDir, runId);
    mkdirSync(join(runsDir(stateDir), runId), { recursive: true, mode: 0o700 });
    return new Journal(path, openSync(path, 'a', 0o600), secrets);
  }

  append(event: JournalEvent): void {
    const line = `${redact(JSON.stringify({ ts: new Date().toISOString(), ...event }), this.secrets)}\n`;
    writeSync(this.fd, line);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Reads a journal; a torn last line (the process died mid-write) is dropped. */
export function readJournal(path: string): StampedEvent[] {
  if (!existsSync(path)) throw usageError('run-unknown', `no journal at ${path}`, 'list runs with: ls <state_dir>/runs');
  const events: StampedEvent[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as StampedEvent);
    } catch {
      // A torn write can only be the last line; anything after it would be ours to distrust anyway.
      break;
    }
  }
  return events;
}

/** Run ids are sortable by time, so the newest is the last one. */
export function listRunIds(stateDir: string): string[] {
  const dir = runsDir(stateDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'journal.jsonl')))
    .sort();
}

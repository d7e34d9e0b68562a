import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type Event = Record<string, unknown> & { type: string };

export function runIds(stateDir: string): string[] {
  const dir = join(stateDir, 'runs');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export function journalOf(stateDir: string, runId: string): Event[] {
  const path = join(stateDir, 'runs', runId, 'journal.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Event];
      } catch {
        return []; // a torn line (the tests make some)
      }
    });
}

/** Waits until a run that was not there before shows an event matching `predicate`. */
export async function waitForEvent(
  stateDir: string,
  known: string[],
  predicate: (e: Event) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const id of runIds(stateDir).filter((i) => !known.includes(i))) {
      if (journalOf(stateDir, id).some(predicate)) return id;
    }
    await sleep(25);
  }
  throw new Error('timed out waiting for a journal event');
}

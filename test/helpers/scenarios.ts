import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { cli, jsonOf } from './cli.js';
import type { Event } from './journal.js';
import { sha256, type TestSandbox } from './sandbox.js';

/**
 * The four scenarios as the reliability harnesses drive them (crash, faults): how each is set
 * up against a sandbox, how the world is compared with what its journal says, and what the
 * world is once it has completed. The comparisons read the world from outside (the flag table,
 * git, /health, SHA-256, the sqlite3 CLI), never through the tool's own reports.
 */
type Flags = Record<string, boolean>;
const ALL_ON: Flags = { admin: true, beta: true, regular: true };
const ALL_OFF: Flags = { admin: false, beta: false, regular: false };

export interface Scenario {
  name: string;
  args: string[];
  traffic?: number;
  /** Breaks the sandbox the way this scenario is for; returns what the end state is compared with. */
  prepare(sb: TestSandbox): Promise<World>;
  /** Where the world differs from what the journal says (empty: it agrees). */
  truth(sb: TestSandbox, events: Event[], before: World): Promise<string[]>;
  /** Where the world differs from the rolled-back one, once the run is complete. */
  rolledBack(sb: TestSandbox, before: World): Promise<string[]>;
}

export interface World {
  head?: string;
  sha?: string;
}

const git = async (dir: string, ...args: string[]) => String((await execa('git', ['-C', dir, ...args])).stdout).trim();

export function journalIn(stateDir: string): { runId: string; events: Event[] } | undefined {
  const runs = existsSync(join(stateDir, 'runs')) ? readdirSync(join(stateDir, 'runs')) : [];
  const [runId] = runs;
  if (!runId) return undefined;
  const file = join(stateDir, 'runs', runId, 'journal.jsonl');
  const events = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Event];
          } catch {
            return []; // a line torn by the kill: the tool skips it too (journal-faults.test.ts)
          }
        })
    : [];
  return { runId, events };
}

/** The steps the journal says finished with a change made, and the ones it says began and did not end. */
export function stepsOf(events: Event[]): { done: Map<string, Event>; inFlight: Map<string, Event> } {
  const done = new Map<string, Event>();
  const inFlight = new Map<string, Event>();
  for (const e of events) {
    const step = e.step as string | undefined;
    if (!step) continue;
    if (e.type === 'step.started') inFlight.set(step, e);
    if (e.type === 'step.finished') {
      inFlight.delete(step);
      if (e.status === 'succeeded') done.set(step, e);
    }
  }
  return { done, inFlight };
}

/** The flag as the journal has it: each finished flag change applied; cohorts of one in flight may be either. */
async function flagTruth(sb: TestSandbox, events: Event[]): Promise<string[]> {
  const expected: Flags = { ...ALL_ON };
  const either = new Set<string>();
  for (const e of events) {
    const action = e.action as string | undefined;
    if (e.type === 'step.started' && (action === 'flag.set' || action === 'flag.stage')) {
      const params = e.params as { states?: Flags; stages?: string[]; stage?: number };
      const cohorts = params.states ? Object.keys(params.states) : [params.stages?.[(params.stage ?? 1) - 1] ?? ''];
      for (const c of cohorts) either.add(c);
    }
    const after = (e.evidence as { after?: Flags } | undefined)?.after;
    if (e.type === 'step.finished' && after) {
      Object.assign(expected, after);
      for (const c of Object.keys(after)) either.delete(c);
    }
  }
  const now = sb.dbFlags();
  return Object.keys(ALL_ON)
    .filter((c) => !either.has(c) && now[c] !== expected[c])
    .map((c) => `flag ${c} is ${now[c] ? 'on' : 'off'}, the journal says ${expected[c] ? 'on' : 'off'}`);
}

async function flagsOff(sb: TestSandbox): Promise<string[]> {
  const now = sb.dbFlags();
  return Object.keys(ALL_OFF)
    .filter((c) => now[c] !== false)
    .map((c) => `flag ${c} still on after the run completed`);
}

export async function healthOf(sb: TestSandbox): Promise<{ up: boolean; version?: string; status?: string }> {
  try {
    const response = await fetch(`${sb.baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { version?: string; status?: string };
    return { up: true, version: body.version, status: body.status };
  } catch {
    return { up: false };
  }
}

/** The flag scenarios' fault: enhanced TRIMP calculations fail for every cohort. */
async function enhancedTrimpErrors(sb: TestSandbox): Promise<World> {
  expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'trimp-errors'])).exitCode).toBe(0);
  return {};
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'flag --all',
    args: ['flag', '--all', '--yes'],
    prepare: enhancedTrimpErrors,
    truth: flagTruth,
    rolledBack: flagsOff,
  },
  {
    name: 'gradual',
    args: ['gradual', '--window', '3s', '--interval', '1s', '--yes'],
    traffic: 60,
    prepare: enhancedTrimpErrors,
    truth: flagTruth,
    rolledBack: flagsOff,
  },
  {
    name: 'application',
    args: ['application', '--yes'],
    prepare: async (sb) => {
      const good = await git(join(sb.dir, 'app'), 'rev-parse', 'HEAD');
      expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy'])).exitCode).toBe(0);
      return { head: good };
    },
    truth: async (sb, events, before) => {
      const { done, inFlight } = stepsOf(events);
      const head = await git(join(sb.dir, 'app'), 'rev-parse', 'HEAD');
      const problems: string[] = [];
      if (!inFlight.has('deploy')) {
        const deployed = done.has('deploy');
        if (deployed && head !== before.head) problems.push(`the journal says deployed, the checkout is at ${head.slice(0, 12)}`);
        if (!deployed && head === before.head) problems.push('the checkout was changed, the journal says no deploy happened');
      }
      const app = await healthOf(sb);
      const changing = ['stop-app', 'start-app'].some((s) => inFlight.has(s));
      if (!changing) {
        // Stopped, by the journal: stop-app done and start-app never begun (a start-app that failed
        // may have left a process that did not prove healthy: either is true to it).
        const startBegan = events.some((e) => e.type === 'step.started' && e.step === 'start-app');
        if (startBegan && !done.has('start-app')) return problems;
        const stopped = done.has('stop-app') && !startBegan;
        if (stopped && app.up) problems.push(`the journal says the app is stopped, it answers /health (${app.version})`);
        if (!stopped && !app.up) problems.push('the journal says the app runs, it does not answer /health');
        if (done.has('start-app') && app.version !== '1.1.0') problems.push(`the journal says 1.1.0 was started, ${app.version} runs`);
      }
      return problems;
    },
    rolledBack: async (sb, before) => {
      const head = await git(join(sb.dir, 'app'), 'rev-parse', 'HEAD');
      const app = await healthOf(sb);
      return [
        head === before.head ? '' : `the checkout is at ${head.slice(0, 12)}, not the release before the bad deploy`,
        app.up && app.version === '1.1.0' && app.status === 'healthy' ? '' : `the app is ${JSON.stringify(app)}, not 1.1.0 healthy`,
      ].filter(Boolean);
    },
  },
  {
    name: 'database',
    args: ['database', '--yes'],
    prepare: async (sb) => {
      const created = await cli(['backup', 'create', '--json', '--config', sb.config]);
      expect(created.exitCode, created.stderr).toBe(0);
      expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'corrupt-db'])).exitCode).toBe(0);
      return { sha: jsonOf<{ sha256: string }>(created).sha256 };
    },
    truth: async (sb, events, before) => {
      const { done, inFlight } = stepsOf(events);
      if (inFlight.has('restore')) return [];
      const restored = sha256(sb.database) === before.sha;
      const began = events.some((e) => e.type === 'step.started' && e.step === 'restore');
      if (done.has('restore') && !restored) return ['the journal says restored, the database is not the backup'];
      if (!began && restored) return ['the database is the backup, the journal says no restore began'];
      return [];
    },
    rolledBack: async (sb, before) => {
      const integrity = await execa('sqlite3', [sb.database, 'PRAGMA integrity_check;'], { reject: false });
      const app = await healthOf(sb);
      return [
        sha256(sb.database) === before.sha ? '' : 'the database is not the backup',
        String(integrity.stdout).trim() === 'ok' ? '' : `integrity_check: ${String(integrity.stdout).slice(0, 80)}`,
        app.up && app.status === 'healthy' ? '' : `the app is ${JSON.stringify(app)}`,
      ].filter(Boolean);
    },
  },
];

/** Processes of one case: every descendant of the CLI carries the case's TMPDIR. */
export function processesWith(tmp: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TMPDIR=${tmp}`)
          ? [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`]
          : [];
      } catch {
        return [];
      }
    });
}

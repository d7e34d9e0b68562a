/**
 * The crash harness on PostgreSQL: `database --yes` SIGKILLed at seeded random moments against a
 * sandbox with its own PostgreSQL server. After each kill, before anything restarts the app, the
 * database named `training` must be a whole database, the old one or the backup (its row count and
 * highest id, read with psql as the superuser, not with our code), and `resume` (or a new run, when
 * the kill came before the run began) must finish with the backup in place. CI runs 3 kills (a sample: npm run test:reliability runs 100);
 * TRIMP_CRASH_KILLS and TRIMP_CRASH_SEED run more or replay one.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { randomSource } from '../../src/sandbox/seed.js';
import { cli, jsonOf, spawnCli } from '../helpers/cli.js';
import { postgresTests } from '../helpers/postgres.js';
import { planCases, recordCases } from '../helpers/reliability.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

const { installed, pgIt } = postgresTests();
const KILLS = Number(process.env.TRIMP_CRASH_KILLS ?? 3);
const SEED = Number(process.env.TRIMP_CRASH_SEED ?? 20261129);

let dir: string;
let info: { base_url: string; config: string; database: string };
let port: string;
let backup: { id: string; row_counts: Record<string, number>; max_activity_id: number };

async function psql(database: string, sql: string): Promise<string> {
  const password = readFileSync(join(dir, 'postgres', 'superuser-password'), 'utf8').trim();
  const result = await execa('psql', ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', database, '-Atc', sql], {
    env: { PGPASSWORD: password },
  });
  return result.stdout.trim();
}

/** What the app's database name holds: activities and the highest id (a whole database answers both). */
async function training(): Promise<string> {
  return psql('training', "SELECT COUNT(*) || '/' || MAX(activity_id) FROM activities");
}

/** Users write 25 activities: the database differs from the backup again. */
async function write(): Promise<void> {
  for (let i = 0; i < 25; i++) {
    const response = await fetch(`${info.base_url}/api/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 4 + (i % 10), duration_minutes: 45, avg_hr: 140 }),
    });
    expect(response.status).toBe(201);
  }
}

/** When the last run's stage step began and its swap ended, in ms after the command started. */
function swapWindow(startedAt: number): { from: number; to: number } {
  const runs = readdirSync(join(dir, 'state', 'runs')).sort();
  const events = readFileSync(join(dir, 'state', 'runs', runs.at(-1) as string, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; step?: string; ts: string });
  const at = (type: string, step: string) => Date.parse(events.find((e) => e.type === type && e.step === step)?.ts ?? '') - startedAt;
  return { from: at('step.started', 'stage'), to: at('step.finished', 'swap') };
}

beforeAll(async () => {
  if (!installed) return;
  dir = mkdtempSync(join(tmpdir(), 'trimp-pgcrash-'));
  const started = await cli(['sandbox', 'start', '--dir', dir, '--engine', 'postgres', '--activities', '20000', '--json'], {
    timeoutMs: 180_000,
  });
  expect(started.exitCode, started.stderr).toBe(0);
  info = jsonOf(started);
  execFileSync('sh', ['-c', `printf '%s' "$0" >> "$1"`, RELAXED_HOST, info.config]);
  port = new URL(info.database).port;
  const created = await cli(['backup', 'create', '--json', '--config', info.config]);
  expect(created.exitCode, created.stderr).toBe(0);
  backup = jsonOf(created);
}, 240_000);

afterAll(async () => {
  if (!installed || !dir) return;
  await cli(['sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
});

planCases({ family: 'crash', part: 'database --yes (PostgreSQL stage and swap), SIGKILL', cases: KILLS });

describe(`database --yes on PostgreSQL killed at random moments (${KILLS} kills, seed ${SEED})`, () => {
  pgIt(
    'training is always a whole database, the old one or the backup, and resume completes the swap',
    async () => {
      const restored = `${backup.row_counts.activities}/${backup.max_activity_id}`;
      const next = randomSource(SEED);
      await write();
      const startedAt = Date.now();
      const started = performance.now();
      const whole = await cli(['database', '--backup', backup.id, '--yes', '--config', info.config], { timeoutMs: 120_000 });
      const windowMs = performance.now() - started;
      expect(whole.exitCode, whole.stderr.split('\n').slice(-15).join('\n')).toBe(0);
      expect(await training()).toBe(restored);
      const swap = swapWindow(startedAt);
      expect(swap.to).toBeGreaterThan(swap.from);

      const outcomes: string[] = [];
      // Every kill is tried; each that does not hold is kept with what replays it (the reliability table counts them).
      const failed: string[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        try {
          await write();
          const old = await training();
          expect(old).not.toBe(restored);
          const runsBefore = new Set(readdirSync(join(dir, 'state', 'runs')));
          const aimed = kill % 2 === 1;
          const delay = Math.round(aimed ? swap.from - 20 + next() * (swap.to - swap.from + 40) : next() * windowMs);
          const child = spawnCli(['database', '--backup', backup.id, '--yes', '--config', info.config]);
          await Promise.race([sleep(delay), child]);
          child.kill('SIGKILL');
          await child;
          const where = `kill ${kill} at ${delay} ms${aimed ? ' (aimed at stage and swap)' : ''} (seed ${SEED})`;

          // Before anything restarts the app: a whole database under the name, one of the two.
          const now = await training();
          expect([old, restored], `${where}: training holds ${now}`).toContain(now);

          // What the journal says decides what comes next: nothing (it had finished), resume, or a new run.
          const listed = await cli(['runs', 'list', '--json', '--config', info.config]);
          expect(listed.exitCode, listed.stderr).toBe(0);
          const run = jsonOf<{ runs: { run_id: string; status: string }[] }>(listed).runs.find((r) => !runsBefore.has(r.run_id));
          let said = run ? `run ${run.run_id} ${run.status}` : 'no run began';
          if (!run) {
            const again = await cli(['database', '--backup', backup.id, '--yes', '--config', info.config], { timeoutMs: 120_000 });
            said = `${said}; a new run: ${again.stderr.split('\n').slice(-18).join('\n')}`;
            expect(again.exitCode, `${where}: ${said}`).toBe(0);
          } else if (run.status !== 'succeeded') {
            const resumed = await cli(['resume', run.run_id, '--yes', '--config', info.config], { timeoutMs: 120_000 });
            said = `${said}; resumed: ${resumed.stderr.split('\n').slice(-18).join('\n')}`;
            expect(resumed.exitCode, `${where}: ${said}`).toBe(0);
          }
          expect(await training(), `${where}: ${said}`).toBe(restored);
          const left = (await psql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'training_restore_%'")).trim();
          expect(left, `${where}: a staged database was left`).toBe('');
          expect((await fetch(`${info.base_url}/health`)).status, where).toBe(200);
          outcomes.push(now === restored ? 'backup' : 'old');
        } catch (error) {
          failed.push(`kill ${kill} of seed ${SEED}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
      recordCases({
        family: 'crash',
        part: 'database --yes (PostgreSQL stage and swap), SIGKILL',
        cases: KILLS,
        held: KILLS - failed.length,
        failed,
      });
      expect(failed).toEqual([]);
      process.stderr.write(
        `postgres crash harness: ${KILLS} kills over ${Math.round(windowMs)} ms (stage and swap at ${swap.from}–${swap.to} ms): ${outcomes.filter((o) => o === 'old').length} old, ${outcomes.filter((o) => o === 'backup').length} backup\n`,
      );
    },
    3_600_000,
  );
});

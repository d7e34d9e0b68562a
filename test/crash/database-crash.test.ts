/**
 * The crash harness: `database --yes` SIGKILLed at seeded random moments. After each kill, before
 * anything restarts the app, the database file must be exactly the old one or exactly the
 * backup (SHA-256), pass integrity_check (the sqlite3 CLI, not our code), and `resume` must finish
 * the run. CI runs 4 kills (half aimed at the restore), a sample; `npm run test:reliability` runs 100 and counts them (docs/RELIABILITY.md).
 */
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSource } from '../../src/sandbox/seed.js';
import { cli, jsonOf, spawnCli } from '../helpers/cli.js';
import { planCases, recordCases } from '../helpers/reliability.js';
import { sha256, startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const KILLS = Number(process.env.TRIMP_CRASH_KILLS ?? 4);
const SEED = Number(process.env.TRIMP_CRASH_SEED ?? 20261129);

const work = mkdtempSync(join(tmpdir(), 'trimp-crash-'));
const oldDatabase = join(work, 'old.db');
const backups = join(work, 'backups');
let backupSha = '';

async function integrity(path: string): Promise<string> {
  const result = await execa('sqlite3', [path, 'PRAGMA integrity_check;'], { reject: false });
  return `${result.stdout}${result.stderr}`.trim();
}

/** A sandbox on a copy of the old database, with the backup beside it; the app runs and writes nothing. */
async function freshTarget(): Promise<TestSandbox & { oldSha: string }> {
  const sandbox = await startTestSandbox('trimp-crash-run-', { database: oldDatabase });
  cpSync(backups, join(sandbox.dir, 'backups'), { recursive: true });
  return Object.assign(sandbox, { oldSha: sha256(sandbox.database) });
}

/** When the calibration run's restore step began and ended, in ms after the command started. */
function restoreWindow(stateDir: string, startedAt: number): { from: number; to: number } {
  const [run] = readdirSync(join(stateDir, 'runs'));
  const events = readFileSync(join(stateDir, 'runs', run as string, 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; step?: string; ts: string });
  const at = (type: string, step: string) => Date.parse(events.find((e) => e.type === type && e.step === step)?.ts ?? '') - startedAt;
  return { from: at('step.started', 'keep-current'), to: at('step.finished', 'restore') };
}

beforeAll(async () => {
  // The old database: a seeded one, backed up, then written to (so old and backup differ).
  // About 20 MB, so that staging, checking and swapping take long enough for kills to land in them.
  const template = await startTestSandbox('trimp-crash-template-', { activities: 60_000 });
  const created = await cli(['backup', 'create', '--json', '--config', template.config]);
  expect(created.exitCode, created.stderr).toBe(0);
  backupSha = jsonOf<{ sha256: string }>(created).sha256;
  for (let i = 0; i < 25; i++) {
    const response = await fetch(`${template.baseUrl}/api/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 4 + (i % 10), duration_minutes: 45, avg_hr: 140 }),
    });
    expect(response.status).toBe(201);
  }
  await template.stop(); // a clean stop checkpoints: the file alone is the old database
  copyFileSync(template.database, oldDatabase);
  cpSync(join(template.dir, 'backups'), backups, { recursive: true });
  await template.remove();
}, 60_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

planCases({ family: 'crash', part: 'database --yes (SQLite restore), SIGKILL', cases: KILLS });

describe(`database --yes killed at random moments (${KILLS} kills, seed ${SEED})`, () => {
  it('is always exactly the old database or exactly the backup, passes integrity_check, and resume completes', async () => {
    const next = randomSource(SEED); // seeded: a failing kill can be replayed with its seed
    // One undisturbed run measures how long a run takes here; kills fall uniformly within it.
    const calibration = await freshTarget();
    const started = performance.now();
    const startedAt = Date.now();
    const whole = await cli(['database', '--yes', '--config', calibration.config]);
    const windowMs = performance.now() - started;
    expect(whole.exitCode, whole.stderr).toBe(0);
    expect(sha256(calibration.database)).toBe(backupSha);
    // Half the kills anywhere in the run, half within keep + restore, where a mix could happen.
    const restore = restoreWindow(calibration.stateDir, startedAt);
    expect(restore.to).toBeGreaterThan(restore.from);
    await calibration.remove();

    const outcomes: string[] = [];
    // Every kill is tried, and each that does not hold is kept with what replays it: the
    // reliability table counts them (a first failure no longer hides the rest).
    const failed: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const target = await freshTarget();
      try {
        const aimed = kill % 2 === 1;
        const delay = Math.round(aimed ? restore.from - 20 + next() * (restore.to - restore.from + 40) : next() * windowMs);
        const child = spawnCli(['database', '--yes', '--config', target.config]);
        await Promise.race([sleep(delay), child]);
        child.kill('SIGKILL');
        await child;
        const where = `kill ${kill} at ${delay} ms${aimed ? ' (aimed at the restore)' : ''} (seed ${SEED})`;

        // Before anything restarts the app: exactly one of the two, never a mix.
        const now = sha256(target.database);
        expect([target.oldSha, backupSha], `${where}: the database is neither the old one nor the backup`).toContain(now);
        expect(await integrity(target.database), where).toBe('ok');

        // What the journal says decides what comes next: nothing (it had finished), resume, or a new run.
        const listed = await cli(['runs', 'list', '--json', '--config', target.config]);
        expect(listed.exitCode, listed.stderr).toBe(0);
        const [run] = jsonOf<{ runs: { status: string }[] }>(listed).runs;
        if (!run) {
          const again = await cli(['database', '--yes', '--config', target.config]); // killed before the run began
          expect(again.exitCode, `${where}: ${again.stderr.split('\n').slice(-15).join('\n')}`).toBe(0);
        } else if (run.status !== 'succeeded') {
          const resumed = await cli(['resume', '--yes', '--config', target.config]);
          expect(resumed.exitCode, `${where} (${run.status}): ${resumed.stderr.split('\n').slice(-15).join('\n')}`).toBe(0);
        } // else: it journaled its end before the kill landed; there is nothing to continue.
        expect(sha256(target.database), where).toBe(backupSha);
        expect(
          readdirSync(target.dir).filter((name) => name.includes('.trimp-stage-')),
          where,
        ).toEqual([]);
        const health = await fetch(`${target.baseUrl}/health`);
        expect(health.status, where).toBe(200);
        outcomes.push(now === backupSha ? 'backup' : 'old');
      } catch (error) {
        failed.push(`kill ${kill} of seed ${SEED}: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        await target.remove();
      }
    }
    recordCases({ family: 'crash', part: 'database --yes (SQLite restore), SIGKILL', cases: KILLS, held: KILLS - failed.length, failed });
    expect(failed).toEqual([]);
    // Both sides of the swap were hit: the kills reached into the restore, not only its edges.
    process.stderr.write(
      `crash harness: ${KILLS} kills over ${Math.round(windowMs)} ms (restore at ${restore.from}–${restore.to} ms): ${outcomes.filter((o) => o === 'old').length} old, ${outcomes.filter((o) => o === 'backup').length} backup\n`,
    );
  }, 3_600_000);
});

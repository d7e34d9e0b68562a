import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT, spawnCli } from '../helpers/cli.js';
import { sha256 } from '../helpers/sandbox.js';

interface Scorecard {
  scenarios: {
    scenario: string;
    fault: string;
    status: string;
    symptom_before: string | null;
    fault_gone: boolean | null;
    run_status: string | null;
    within_budget: boolean | null;
    proof: string | null;
  }[];
  passed: number;
  failed: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'trimp-gameday-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('game days', () => {
  it('rehearse --all: every scenario passes, each on its own proof (exit 0)', async () => {
    const result = await cli(['rehearse', '--all', '--json'], { timeoutMs: 240_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const card = jsonOf<Scorecard>(result);
    expect(card.scenarios.map((s) => [s.scenario, s.fault, s.status])).toEqual([
      ['flag', 'trimp-errors', 'passed'],
      ['gradual-regular', 'trimp-errors', 'passed'],
      ['gradual-every-cohort', 'trimp-errors', 'passed'],
      ['application', 'bad-deploy', 'passed'],
      ['database', 'corrupt-db', 'passed'],
    ]);
    const [flag, regular, everyCohort, application, database] = card.scenarios;
    expect(flag?.symptom_before).toMatch(/^[1-9]\d* errors in \d+ requests/);
    expect(flag).toMatchObject({ fault_gone: true, within_budget: true });
    // Gradual: PASSED only when the metrics decided the windows as expected and the flag ends there.
    expect(regular?.proof).toMatch(/watch-1 recovered; flag admin on, beta on, regular off$/);
    expect(everyCohort?.proof).toMatch(/watch-1 failing, watch-2 failing, watch-3 recovered; flag admin off, beta off, regular off$/);
    // Application: the bad release's failing /health was the symptom; healthy again is part of the proof.
    expect(application?.symptom_before).toMatch(/^\/health answers 503, status unhealthy: release 1\.2\.0 fails its start-up checks/);
    expect(application).toMatchObject({ fault_gone: true, within_budget: true, run_status: 'succeeded' });
    // Database: PASSED only on integrity_check, /health and every row from before the backup.
    expect(database).toMatchObject({ fault_gone: true, within_budget: true, run_status: 'succeeded' });
    expect(database?.proof).toMatch(/integrity_check ok, \/health healthy, all \d+ activities from before the backup present/);
    expect(card).toMatchObject({ passed: 5, failed: 0 });
    // Escalation runs on the rehearsal clock (a minute a second): the three-stage game day crosses level 2.
    expect(result.stderr).toMatch(
      /escalation level 2 \(15 min on the rehearsal clock, 15\.0 s here\): involve the Operations Team \(no contacts configured\)/,
    );
  }, 260_000);

  it('rehearse --db-from: the game day runs on a copy of a given database, which is left untouched', async () => {
    const seeded = await cli(['sandbox', 'seed', '--dir', scratch, '--users', '10', '--activities', '500']);
    expect(seeded.exitCode, seeded.stderr).toBe(0);
    // Not a terminal: progress comes as plain lines, never joined by carriage returns.
    expect(seeded.stderr).not.toContain('\r');
    expect(seeded.stderr.trim().split('\n').at(-1)).toBe('500 of 500 activities');
    const source = join(scratch, 'training_data.db');
    const before = sha256(source);
    const result = await cli(['rehearse', 'flag', '--db-from', source]);
    expect(sha256(source)).toBe(before);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Game day scorecard\n.*\n.*\nflag\s+trimp-errors\s+\d+ errors in \d+ requests .* PASSED/);
  });

  it('a runbook that does not cure the fault scores FAILED (exit 1)', async () => {
    const result = await cli(['rehearse', 'flag', '--runbook', join(ROOT, 'test/fixtures/runbooks/regular-only.yaml'), '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const row = jsonOf<Scorecard>(result).scenarios[0]!;
    expect(row.status).toBe('failed');
    // The in-run validation saw the errors that remain for admin and beta users, or the proof did.
    expect(row.fault_gone === false || row.run_status === 'failed').toBe(true);
    expect(row.run_status).toBe('failed');
  });

  it.each([
    ['one Ctrl-C: the game day stops after the step in flight and tears down what it started', 1],
    ['two Ctrl-Cs: the sandbox is killed where it stands, and its directory removed', 2],
  ])('%s', async (_name, presses) => {
    const child = spawnCli(['rehearse', 'flag']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const dir = await waitUntil(() => /== Game day: flag \(fault: trimp-errors\) in (\S+)\n/.exec(stderr)?.[1]);
    await waitUntil(() => (/Symptom: /.test(stderr) ? true : undefined));
    for (let i = 0; i < presses; i++) child.kill('SIGINT');
    const result = await child;
    expect(result.signal).toBe('SIGINT');
    expect(existsSync(dir)).toBe(false);
    await waitUntil(() => (sandboxesOf(dir).length === 0 ? true : undefined));
  });

  it('--profile trainingmonkey: the application and database game days pass on the public app; the flag ones are said impossible there', async () => {
    const result = await cli(['rehearse', '--all', '--profile', 'trainingmonkey', '--json'], { timeoutMs: 180_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const card = jsonOf<Scorecard & { scenarios: { note: string | null }[] }>(result);
    expect(card.scenarios.map((s) => [s.scenario, s.status])).toEqual([
      ['flag', 'not possible'],
      ['gradual-regular', 'not possible'],
      ['gradual-every-cohort', 'not possible'],
      ['application', 'passed'],
      ['database', 'passed'],
    ]);
    expect(card.scenarios[0]?.note).toBe(
      'the app sets its flags in code (its toggle persists nothing), so no flag rollback can be run there; its way back is the application rollback',
    );
    // The bad release answers /health with 200: its body says it is unhealthy.
    expect(card.scenarios[3]?.symptom_before).toBe('/health answers status unhealthy, database not connected');
    expect(card.scenarios[3]?.proof).toMatch(/^0 errors in [1-9]\d* requests over 2 s/);

    const alone = await cli(['rehearse', 'flag', '--profile', 'trainingmonkey']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr.trim()).toBe(
      'trimp-rollback: flag cannot be rehearsed on the trainingmonkey profile: the app sets its flags in code (its toggle persists nothing), so no flag rollback can be run there; its way back is the application rollback — rehearse application or database there (or --all: the others are listed with the reason)',
    );
  }, 200_000);

  it('refuses an unknown scenario with exit 2', async () => {
    const result = await cli(['rehearse', 'meteor']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(
      'trimp-rollback: unknown scenario "meteor"; scenarios: flag, gradual, application, database (game days: flag, gradual-regular, gradual-every-cohort, application, database)',
    );
  });
});

async function waitUntil<T>(probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

/** Processes whose command line names the sandbox directory: none may outlive the game day. */
function sandboxesOf(dir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

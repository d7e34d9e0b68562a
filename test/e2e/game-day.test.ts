import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { sha256 } from '../helpers/sandbox.js';

interface Scorecard {
  scenarios: {
    scenario: string;
    fault: string;
    status: string;
    symptom_before: string | null;
    fault_gone: boolean | null;
    within_budget: boolean | null;
  }[];
  passed: number;
  failed: number;
  unavailable: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'trimp-gameday-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('game days', () => {
  it('rehearse --all: the flag scenario against live trimp-errors passes; scenarios without a runbook say so', async () => {
    const result = await cli(['rehearse', '--all', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const card = jsonOf<Scorecard>(result);
    expect(card.scenarios.map((s) => [s.scenario, s.fault, s.status])).toEqual([
      ['flag', 'trimp-errors', 'passed'],
      ['gradual', 'trimp-errors', 'unavailable'],
      ['application', 'bad-deploy', 'unavailable'],
      ['database', 'corrupt-db', 'unavailable'],
    ]);
    const flag = card.scenarios[0]!;
    expect(flag.symptom_before).toMatch(/^[1-9]\d* errors in \d+ requests/);
    expect(flag).toMatchObject({ fault_gone: true, within_budget: true });
    expect(card).toMatchObject({ passed: 1, failed: 0, unavailable: 3 });
  });

  it('rehearse --db-from: the game day runs on a copy of a given database, which is left untouched', async () => {
    const seeded = await cli(['sandbox', 'seed', '--dir', scratch, '--users', '10', '--activities', '500']);
    expect(seeded.exitCode, seeded.stderr).toBe(0);
    const source = join(scratch, 'training_data.db');
    const before = sha256(source);
    const result = await cli(['rehearse', 'flag', '--db-from', source]);
    expect(sha256(source)).toBe(before);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Game day scorecard\n.*\n.*\nflag\s+trimp-errors\s+\d+ errors in \d+ requests .* PASSED/);
  });

  it('refuses an unknown scenario with exit 2', async () => {
    const result = await cli(['rehearse', 'meteor']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe('trimp-rollback: unknown scenario "meteor"; scenarios: flag, gradual, application, database');
  });
});

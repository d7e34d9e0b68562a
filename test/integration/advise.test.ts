import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

interface Advice {
  issue: string | null;
  severity: string | null;
  action: string | null;
  command: string | null;
  time_to_execute: string | null;
  why: string | null;
  evidence: string[];
}

/** The seed's Rollback Decision Matrix, typed here from the seed (not read from the tool's data file). */
const SEED_MATRIX = [
  ['trimp-errors', 'low', 'Gradual rollback', '15-30 minutes', 'trimp-rollback gradual'],
  ['performance', 'medium', 'Feature flag rollback', '5-10 minutes', 'trimp-rollback flag --all'],
  ['instability', 'high', 'Application rollback', '10-15 minutes', 'trimp-rollback application'],
  ['data-corruption', 'critical', 'Database rollback', '30-60 minutes', 'trimp-rollback database'],
  ['security-breach', 'critical', 'Complete system rollback', '15-30 minutes', 'trimp-rollback run complete'],
] as const;

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-advise-', { traffic: 40 });
});
afterAll(async () => {
  await sandbox?.remove();
});

const advise = async (...args: string[]) => {
  const result = await cli(['advise', '--json', '--config', sandbox.config, ...args]);
  expect(result.exitCode, result.stderr).toBe(0);
  return jsonOf<Advice>(result);
};

describe('advise', () => {
  it("answers every row of the matrix: the action, the command on this target, the seed's time", async () => {
    for (const [issue, severity, action, time, command] of SEED_MATRIX) {
      const advice = await advise('--issue', issue);
      expect(advice).toMatchObject({ issue, severity, action, time_to_execute: time, command: `${command} --config ${sandbox.config}` });
    }
    // A severity that names one row answers it; one that names two asks which (no terminal: exit 2, listing them).
    expect((await advise('--severity', 'high')).issue).toBe('instability');
    const two = await cli(['advise', '--severity', 'critical', '--config', sandbox.config]);
    expect(two.exitCode).toBe(2);
    expect(two.stderr).toMatch(
      /say which issue: --issue TYPE .*data-corruption \(Data corruption, critical\); security-breach \(Security breach, critical\)/,
    );
    for (const [args, message] of [
      [
        ['--issue', 'meteor'],
        /unknown issue type "meteor"; issue types: trimp-errors, performance, instability, data-corruption, security-breach/,
      ],
      [['--severity', 'dire'], /unknown severity "dire"; severities: low, medium, high, critical/],
    ] as const) {
      const bad = await cli(['advise', ...args, '--config', sandbox.config]);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  });

  it('--from-metrics reads the row off the system, most serious first, and shows its evidence', async () => {
    const healthy = await advise('--from-metrics');
    expect(healthy).toMatchObject({ issue: null, why: expect.stringMatching(/^nothing the matrix covers shows/) });
    expect(healthy.evidence).toEqual([
      'database quick_check: ok',
      '/health: HTTP 200 healthy, database connected',
      expect.stringMatching(/^metrics, last 60 s: \d+ requests, 0 errors/),
      expect.stringMatching(/^metrics, last 10 s: \d+ requests, 0 errors/),
      expect.stringMatching(/^error\.log, last 15 min: 0 error lines$/),
    ]);

    const steps: [string[], string, RegExp][] = [
      [['slow', '--ms', '1500'], 'performance', /^p95 latency [\d.]+ ms is above 500 ms$/],
      [['trimp-errors', '--share', '1'], 'trimp-errors', /^errors while the app is healthy: [\d.]+% of TRIMP calculations fail/],
      [['bad-deploy'], 'instability', /^\/health answers 503/],
      [['corrupt-db'], 'data-corruption', /^the database fails quick_check/],
    ];
    for (const [fault, issue, why] of steps) {
      expect((await cli(['sandbox', 'break', ...fault, '--dir', sandbox.dir])).exitCode).toBe(0);
      let advice = await advise('--from-metrics');
      // Wait (up to 20 s) for traffic to show the fault in the last minute's figures.
      for (let i = 0; i < 40 && advice.issue !== issue; i++) {
        await sleep(500);
        advice = await advise('--from-metrics');
      }
      expect(advice, fault[0]).toMatchObject({ issue, why: expect.stringMatching(why) });
    }
  }, 120_000);
});

import { describe, expect, it } from 'vitest';
import { buildPlan, needsConfirmation, type Plan } from '../../src/engine/plan.js';
import { loadRunbook } from '../../src/runbook/load.js';

const info = {
  via: 'api' as const,
  baseUrl: 'http://127.0.0.1:9999',
  instances: ['http://127.0.0.1:9999'],
  database: '/srv/training_data.db',
  actor: 'trimp-rollback:R1',
  runId: 'R1',
  stateDir: '/srv/state',
  backupsDir: '/srv/backups',
  appDir: '/srv/app',
  logsDir: '/srv/app/logs',
  app: undefined,
  userChannels: [],
};
const flag = loadRunbook('flag');
const step = (plan: Plan, id: string) => plan.steps.find((s) => s.id === id)!;

describe('plan building', () => {
  it('resolves inputs into each step and is plain data', () => {
    const plan = buildPlan({ runbook: flag, inputs: { states: { beta: false, regular: false } }, info, dryRun: false, runId: 'R1' });
    expect(plan.steps.map((s) => [s.id, s.rehearsal, s.confirm])).toEqual([
      ['baseline', 'probe', false],
      ['assess', 'probe', false],
      ['set-flag', 'print', true],
      ['verify', 'probe', false],
      ['health', 'probe', false],
      ['validate', 'probe', false],
      ['draft-notice', 'probe', false],
      ['notify-users', 'print', true],
    ]);
    expect(step(plan, 'set-flag').params).toEqual({ flag: 'enhanced_trimp_calculation', states: { beta: false, regular: false } });
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(needsConfirmation(plan)).toBe(true);
  });

  it('shows the exact HTTP requests of a change through the API', () => {
    const plan = buildPlan({ runbook: flag, inputs: { states: { admin: false } }, info, dryRun: true, runId: 'R1' });
    expect(step(plan, 'set-flag').operations).toEqual([
      {
        kind: 'http',
        text: 'POST http://127.0.0.1:9999/api/admin/feature-flags/enhanced_trimp_calculation/toggle {"user_type":"admin","enabled":false}',
      },
    ]);
    expect(step(plan, 'health').operations).toEqual([{ kind: 'http', text: 'GET http://127.0.0.1:9999/health' }]);
  });

  it('shows the exact SQL of a change through the database', () => {
    const plan = buildPlan({
      runbook: flag,
      inputs: { states: { regular: true } },
      info: { ...info, via: 'db' },
      dryRun: true,
      runId: 'R1',
    });
    const [op] = step(plan, 'set-flag').operations;
    expect(op!.kind).toBe('sql');
    expect(op!.text).toContain('/srv/training_data.db: UPDATE feature_flags SET enabled = 1');
    expect(op!.text).toContain("user_type = 'regular'");
  });

  it('marks what an earlier attempt finished and what it left unknown', () => {
    const history = new Map([
      ['baseline', 'finished' as const],
      ['assess', 'finished' as const],
      ['set-flag', 'started' as const],
    ]);
    const plan = buildPlan({ runbook: flag, inputs: {}, info, dryRun: false, runId: 'R1', history });
    expect(plan.steps.map((s) => s.resume)).toEqual(['done', 'done', 'recheck', 'run', 'run', 'run', 'run', 'run']);
  });

  it('refuses unknown, missing and mistyped inputs as usage errors', () => {
    const build = (inputs: Record<string, unknown>) => () => buildPlan({ runbook: flag, inputs, info, dryRun: false, runId: 'R1' });
    expect(build({ stats: {} })).toThrow(/no input "stats"/);
    expect(build({ states: {} })).toThrow(/name at least one user type/);
    expect(build({ states: { admin: 'off' } })).toThrow(/input "states"/);
    expect(build({ app: 'sometimes' })).toThrow(/step verify: app/);
    try {
      build({ stats: {} })();
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

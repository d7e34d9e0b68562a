import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { forwardTo, startHostileServer } from '../helpers/hostile-server.js';
import { sha256, startTestSandbox, type TestSandbox, userTraffic } from '../helpers/sandbox.js';

interface RunJson {
  run_id: string;
  status: string;
  dry_run: boolean;
  duration_ms: number;
  budget_ms: number;
  journal: string | null;
  steps: {
    id: string;
    status: string;
    summary: string;
    rehearsal: string;
    duration_ms: number;
    operations: string[];
    evidence?: Record<string, unknown>;
  }[];
}

let sandbox: TestSandbox;
const all = { admin: true, beta: true, regular: true };

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  // Every test starts from the sandbox's initial state: the flag on for everyone.
  await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  expect(await sandbox.flags()).toEqual(all);
});

const journalEvents = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('flag scenario against the sandbox, through the admin API', () => {
  it('turns the flag off for every user type, proves it on enough user traffic, and journals it', async () => {
    const users = userTraffic(sandbox.baseUrl);
    let result: Awaited<ReturnType<typeof cli>>;
    try {
      // --settle: the validation waits (up to 20 s) for 50 user requests after the change.
      result = await cli(['flag', '--all', '--yes', '--json', '--reason', 'error spike', '--settle', '20s', '--config', sandbox.config]);
    } finally {
      users.stop();
    }
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(run).toMatchObject({ status: 'succeeded', dry_run: false, budget_ms: 300_000 });
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ['baseline', 'succeeded'],
      ['assess', 'succeeded'],
      ['set-flag', 'succeeded'],
      ['verify', 'succeeded'],
      ['health', 'succeeded'],
      ['validate', 'succeeded'],
      // A flag rollback is transparent to users: no notice unless --notify-users asks.
      ['draft-notice', 'skipped'],
      ['notify-users', 'skipped'],
    ]);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
    expect(sandbox.dbFlags()).toEqual({ admin: false, beta: false, regular: false });

    const verify = run.steps.find((s) => s.id === 'verify')!;
    const answers = verify.evidence!.trimp as { method: string; trimp: number }[];
    expect(answers.map((a) => a.method)).toEqual(['average', 'average', 'average']);
    for (const a of answers) expect(Math.abs(a.trimp - 129.36)).toBeLessThanOrEqual(0.01);

    const validation = run.steps.find((s) => s.id === 'validate')!.evidence!.checks as { name: string; summary: string }[];
    expect(validation.find((c) => c.name === 'user-errors')!.summary).toMatch(/^0 errors in ([5-9]\d|\d{3,}) user requests/);
    const report = readFileSync(join(dirname(run.journal!), 'report.md'), 'utf8');
    expect(report).toMatch(
      /# Rollback run .*\n[\s\S]*Status: \*\*succeeded\*\*[\s\S]*\| set-flag \| print \| succeeded \|[\s\S]*## Validation[\s\S]*## Post-rollback analysis/,
    );
    expect(report).toContain(`- Undo: \`trimp-rollback flag restore --run ${run.run_id} --config ${sandbox.config} --yes\``);
    expect(JSON.parse(readFileSync(join(dirname(run.journal!), 'report.json'), 'utf8'))).toMatchObject({
      run_id: run.run_id,
      status: 'succeeded',
    });

    const events = journalEvents(run.journal!);
    const types = (step: string) => events.filter((e) => e.step === step).map((e) => e.type);
    expect(events[0]!.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(types('baseline')).toEqual(['step.started', 'step.observed', 'step.finished']);
    expect(types('set-flag')).toEqual(['step.started', 'step.observed', 'step.finished']);
    for (const step of ['assess', 'verify', 'health', 'validate']) expect(types(step)).toEqual(['step.started', 'step.finished']);
    expect(events[0]).toMatchObject({ reason: 'error spike', runbook: { id: 'flag' }, via: 'api' });
    expect(String(events[0]!.operator)).toMatch(/.+@.+/);
    const observed = events.find((e) => e.type === 'step.observed' && e.step === 'set-flag');
    expect(observed).toMatchObject({ name: 'flag_states_before', data: { states: all } });
    expect(events.find((e) => e.type === 'step.finished' && e.step === 'set-flag')).toMatchObject({
      status: 'succeeded',
      evidence: { before: all, after: { admin: false, beta: false, regular: false } },
    });
    // The baseline is recorded before the change, the validation after it.
    const baseline = events.find((e) => e.type === 'step.observed' && e.step === 'baseline')!;
    expect(baseline).toMatchObject({
      name: 'baseline',
      data: { row_counts: { activities: expect.any(Number) }, schema_hash: expect.any(String) },
    });
    expect(events.indexOf(baseline)).toBeLessThan(events.indexOf(observed!));
  });

  it('touches only the named user types, and rolls forward with --enable', async () => {
    const off = await cli(['flag', '--user-type', 'beta,regular', '--yes', '--config', sandbox.config]);
    expect(off.exitCode, off.stderr).toBe(0);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: false, regular: false });
    const on = await cli(['flag', '--user-type', 'regular', '--enable', '--yes', '--json', '--config', sandbox.config]);
    expect(on.exitCode, on.stderr).toBe(0);
    const verify = jsonOf<RunJson>(on).steps.find((s) => s.id === 'verify')!;
    expect((verify.evidence!.trimp as { method: string }[]).map((a) => a.method)).toEqual(['stream']);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: false, regular: true });
  });

  it('restores exactly the per-type states recorded before a run', async () => {
    await cli(['flag', '--user-type', 'beta', '--yes', '--config', sandbox.config]);
    const rollback = jsonOf<RunJson>(await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]));
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
    const restore = await cli(['flag', 'restore', '--run', rollback.run_id, '--yes', '--config', sandbox.config]);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await sandbox.flags()).toEqual({ admin: true, beta: false, regular: true });
  });

  it('a dry run shows the exact requests and leaves flags and the database file byte-for-byte unchanged', async () => {
    const before = sha256(sandbox.database);
    const result = await cli(['flag', '--all', '--dry-run', '--json', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(run).toMatchObject({ status: 'planned', dry_run: true, journal: null });
    const set = run.steps.find((s) => s.id === 'set-flag')!;
    expect(set.status).toBe('planned');
    expect(set.operations).toEqual(
      ['admin', 'beta', 'regular'].map(
        (type) =>
          `POST ${sandbox.baseUrl}/api/admin/feature-flags/enhanced_trimp_calculation/toggle {"user_type":"${type}","enabled":false}`,
      ),
    );
    expect(run.steps.find((s) => s.id === 'assess')!.status).toBe('succeeded');
    expect(await sandbox.flags()).toEqual(all);
    expect(sha256(sandbox.database)).toBe(before);
  });

  it('without a terminal and without --yes, refuses with exit 3 and changes nothing', async () => {
    const runsBefore = existsSync(join(sandbox.stateDir, 'runs')) ? readdirSync(join(sandbox.stateDir, 'runs')).length : 0;
    const result = await cli(['flag', '--all', '--config', sandbox.config]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/no terminal to ask — add --yes/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await sandbox.flags()).toEqual(all);
    expect(readdirSync(join(sandbox.stateDir, 'runs')).length).toBe(runsBefore);
  });
});

describe('flag scenario through the database (the app is down)', () => {
  it('sets the flag in the database, verifies there, and warns that the app could not be asked', async () => {
    await sandbox.stop();
    try {
      const before = sha256(sandbox.database);
      const dry = await cli(['flag', '--all', '--via', 'db', '--dry-run', '--json', '--config', sandbox.config]);
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(jsonOf<RunJson>(dry).steps.find((s) => s.id === 'set-flag')!.operations[0]).toContain('UPDATE feature_flags SET enabled = 0');
      expect(sha256(sandbox.database)).toBe(before);
      expect(sandbox.dbFlags()).toEqual(all);

      const result = await cli(['flag', '--all', '--via', 'db', '--yes', '--json', '--config', sandbox.config]);
      expect(result.exitCode, result.stderr).toBe(0);
      const run = jsonOf<RunJson>(result);
      expect(run.status).toBe('succeeded');
      expect(run.steps.find((s) => s.id === 'verify')!.status).toBe('warned');
      expect(run.steps.find((s) => s.id === 'health')!.status).toBe('warned');
      expect(sandbox.dbFlags()).toEqual({ admin: false, beta: false, regular: false });
    } finally {
      await sandbox.start();
    }
    // The restarted app reads the flag from the database: the change holds.
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  });

  it('with the app up, --via db proves the change through the app too', async () => {
    const result = await cli(['flag', '--user-type', 'admin', '--via', 'db', '--yes', '--json', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const verify = jsonOf<RunJson>(result).steps.find((s) => s.id === 'verify')!;
    expect(verify.status).toBe('succeeded');
    expect((verify.evidence!.trimp as { method: string }[])[0]!.method).toBe('average');
    expect(await sandbox.flags()).toEqual({ admin: false, beta: true, regular: true });
  });
});

describe('an app that acknowledges a flag change and does not make it', () => {
  it('fails the set step as "acknowledged but not applied" (exit 1), never a green run, and says what works instead', async () => {
    // A real proxy in front of the sandbox: every toggle answers success with the state asked for,
    // and is never passed on (as an app whose flags are set in code does).
    const proxy = await startHostileServer(
      forwardTo(sandbox.baseUrl, (req, res, body) => {
        if (req.method !== 'POST' || !/\/toggle$/.test(req.url ?? '')) return false;
        const asked = JSON.parse(body) as { user_type: string; enabled: boolean };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: true, states: { [asked.user_type]: asked.enabled } }));
        return true;
      }),
    );
    try {
      const result = await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config, '--base-url', proxy.url]);
      expect(result.exitCode).toBe(1);
      const step = jsonOf<RunJson>(result).steps.find((s) => s.id === 'set-flag');
      expect(step?.status).toBe('failed');
      expect(step?.summary).toBe(
        `acknowledged but not applied: ${proxy.url} answered every change with success, and reading the flag back shows admin still enabled, beta still enabled, regular still enabled; this app does not change the flag this way (an application rollback to a release without it does: trimp-rollback application, or --to COMMIT)`,
      );
      expect(proxy.seen.filter((r) => r.endsWith('/toggle'))).toHaveLength(3);
      expect(await sandbox.flags()).toEqual(all);
    } finally {
      await proxy.close();
    }
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cli, jsonOf, ROOT, spawnCli } from '../helpers/cli.js';
import { forwardTo, startHostileServer } from '../helpers/hostile-server.js';
import { journalOf, runIds, waitForEvent } from '../helpers/journal.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const SLOW = join(ROOT, 'test/fixtures/runbooks/slow-flag.yaml');
const on = { admin: true, beta: true, regular: true };
const off = { admin: false, beta: false, regular: false };
let a: TestSandbox;
let b: TestSandbox;
/** A directory whose ./trimp-rollback.yaml points at sandbox B: today's surroundings differ from the run's. */
let elsewhere: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestSandbox('trimp-target-a-'), startTestSandbox('trimp-target-b-')]);
  elsewhere = mkdtempSync(join(tmpdir(), 'trimp-elsewhere-'));
  writeFileSync(
    join(elsewhere, 'trimp-rollback.yaml'),
    `state_dir: ${b.stateDir}\ntarget:\n  base_url: ${b.baseUrl}\n  database: ${b.database}\n  token_file: ${b.tokenFile}\n`,
  );
});
afterAll(async () => {
  await Promise.all([a?.remove(), b?.remove()]);
  rmSync(elsewhere, { recursive: true, force: true });
});
beforeEach(async () => {
  for (const sandbox of [a, b]) expect((await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config])).exitCode).toBe(0);
});

/** A staged rollback against A, interrupted during its pause: admin is off, beta and regular not yet. */
async function interruptedRunOnA(extra: string[] = ['--config', a.config]): Promise<{ runId: string; stdout: string }> {
  const known = runIds(a.stateDir);
  const child = spawnCli(['run', SLOW, '--yes', '--input', 'pause=5s', ...extra]);
  const runId = await waitForEvent(a.stateDir, known, (e) => e.type === 'step.started' && e.step === 'pause');
  child.kill('SIGINT');
  const result = await child;
  expect(result.signal).toBe('SIGINT');
  expect(await a.flags()).toEqual({ admin: false, beta: true, regular: true });
  return { runId, stdout: String(result.stdout) };
}

const inElsewhere = (args: string[], env: Record<string, string> = {}) => cli(args, { cwd: elsewhere, env });

describe("resume acts on the run's own target", () => {
  it("ignores today's ./trimp-rollback.yaml and environment, and finishes the run on A", async () => {
    const { runId } = await interruptedRunOnA();
    const resumed = await inElsewhere(['resume', runId, '--state-dir', a.stateDir, '--yes'], { TRIMP_BASE_URL: b.baseUrl });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`note: the environment names app ${b.baseUrl}; using the run's own, ${a.baseUrl}`));
    expect(await a.flags()).toEqual(off);
    expect(await b.flags()).toEqual(on);
  });

  it('refuses another target named on the command line (exit 2), unless --retarget --reason, which is journaled', async () => {
    const { runId } = await interruptedRunOnA();
    const viaConfig = await inElsewhere(['resume', runId, '--state-dir', a.stateDir, '--config', b.config, '--yes']);
    expect(viaConfig.exitCode).toBe(2);
    expect(viaConfig.stderr.trim()).toMatch(
      new RegExp(
        `resume ${runId} acts on the target of run ${runId}, but the command line names app ${b.baseUrl} \\(the run's: ${a.baseUrl}\\) and database ${b.database} .*— drop those options, or move the run to the new target with --retarget --reason`,
      ),
    );
    const viaFlag = await inElsewhere(['resume', runId, '--state-dir', a.stateDir, '--base-url', b.baseUrl, '--yes']);
    expect(viaFlag.exitCode).toBe(2);
    const noReason = await inElsewhere(['resume', runId, '--state-dir', a.stateDir, '--config', b.config, '--retarget', '--yes']);
    expect(noReason.exitCode).toBe(2);
    expect(noReason.stderr).toMatch(/--retarget needs --reason/);
    expect(await b.flags()).toEqual(on);

    // The app moved behind a new address (a proxy in front of A): the operator says so, with a reason.
    const moved = await startHostileServer(forwardTo(a.baseUrl, () => false));
    try {
      const args = [
        'resume',
        runId,
        '--state-dir',
        a.stateDir,
        '--base-url',
        moved.url,
        '--retarget',
        '--reason',
        'the app moved',
        '--yes',
      ];
      const resumed = await inElsewhere(args);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(moved.seen.some((request) => request.startsWith('POST /api/admin/feature-flags/'))).toBe(true);
    } finally {
      await moved.close();
    }
    expect(await a.flags()).toEqual(off);
    expect(await b.flags()).toEqual(on);
    const events = journalOf(a.stateDir, runId);
    expect(events.find((e) => e.type === 'run.retargeted')).toMatchObject({
      reason: 'the app moved',
      from: { base_url: a.baseUrl },
      to: { base_url: moved.url },
    });
  });

  it("flag restore puts back the states on the source run's target, not today's", async () => {
    const run = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--yes', '--json', '--config', a.config]));
    expect(
      (await inElsewhere(['flag', 'restore', '--run', run.run_id, '--state-dir', a.stateDir, '--config', b.config, '--yes'])).exitCode,
    ).toBe(2);
    const restored = await inElsewhere(['flag', 'restore', '--run', run.run_id, '--state-dir', a.stateDir, '--yes']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await a.flags()).toEqual(on);
    expect(await b.flags()).toEqual(on);
  });
});

describe('printed commands are complete and can be pasted', () => {
  it('the Resume line of a run given its target by flags works from another directory, with trimp-rollback on PATH', async () => {
    const flags = ['--base-url', a.baseUrl, '--database', a.database, '--token-file', a.tokenFile, '--state-dir', a.stateDir, '--yes'];
    const { runId, stdout } = await interruptedRunOnA(flags.filter((f) => f !== '--yes').concat('--yes'));
    const line = /^Resume with: (.*)$/m.exec(stdout)?.[1] as string;
    expect(line).toBe(
      `trimp-rollback resume ${runId} --state-dir ${a.stateDir} --token-file ${a.tokenFile} --base-url ${a.baseUrl} --database ${a.database} --yes`,
    );
    // As the README says: put bin/ on PATH, then paste. No TRIMP_* environment, another directory.
    const pasted = await execa('bash', ['-c', line], {
      cwd: elsewhere,
      env: { PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`, NO_COLOR: '1', HOME: elsewhere },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(pasted.exitCode, pasted.stderr).toBe(0);
    expect(await a.flags()).toEqual(off);

    const undo = /^Undo: (.*)$/m.exec(String(pasted.stdout))?.[1] as string;
    expect(undo).toBe(
      `trimp-rollback flag restore --run ${runId} --state-dir ${a.stateDir} --token-file ${a.tokenFile} --base-url ${a.baseUrl} --database ${a.database} --yes`,
    );
    const undone = await execa('bash', ['-c', undo], {
      cwd: elsewhere,
      env: { PATH: `${join(ROOT, 'bin')}:${process.env.PATH}`, NO_COLOR: '1', HOME: elsewhere },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(undone.exitCode, undone.stderr).toBe(0);
    expect(await a.flags()).toEqual(on);
  });

  it('the bin is executable and answers --version as trimp-rollback (not npm)', async () => {
    const version = await execa('bash', ['-c', 'trimp-rollback --version'], {
      env: { PATH: `${join(ROOT, 'bin')}:${process.env.PATH}` },
      reject: false,
    });
    expect(version.exitCode).toBe(0);
    expect(String(version.stdout).trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(BIN).toMatch(/bin\/trimp-rollback\.js$/);
  });
});

describe('which run `resume` picks', () => {
  it('refuses (exit 2, listing them) when a later run changed the same system; a named run still resumes', async () => {
    const { runId: older } = await interruptedRunOnA();
    const later = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--enable', '--yes', '--json', '--config', a.config])).run_id;
    expect(later > older).toBe(true);
    const picked = await cli(['resume', '--yes', '--config', a.config]);
    expect(picked.exitCode).toBe(2);
    expect(picked.stderr.trim()).toMatch(
      new RegExp(
        `the newest unfinished run, ${older}, was followed by a run that changed the same system: ${older} \\(interrupted\\), ${later} \\(succeeded\\)`,
      ),
    );
    expect(await a.flags()).toEqual(on);

    const list = jsonOf<{ runs: { run_id: string; status: string; runbook: string; base_url: string; age_ms: number }[] }>(
      await cli(['runs', 'list', '--json', '--config', a.config]),
    );
    expect(list.runs.map((r) => r.run_id).slice(-2)).toEqual([older, later]);
    expect(list.runs.at(-2)).toMatchObject({ status: 'interrupted', runbook: 'slow-flag', base_url: a.baseUrl });
    expect(list.runs.at(-1)).toMatchObject({ status: 'succeeded', runbook: 'flag', base_url: a.baseUrl });
    const table = await cli(['runs', 'list', '--config', a.config]);
    expect(table.stdout).toMatch(new RegExp(`${older}\\s+interrupted\\s+slow-flag\\s+${a.baseUrl}\\s+\\d+ (s|min) ago`));

    // Named, it resumes as asked: the change it had finished (admin off) was undone by the later
    // run, so it is re-checked and done again, and the run ends where it meant to.
    const named = await cli(['resume', older, '--yes', '--json', '--config', a.config]);
    expect(named.exitCode, named.stderr).toBe(0);
    const run = jsonOf<{ steps: { id: string; status: string; summary: string }[] }>(named);
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ['admin-off', 'succeeded'],
      ['pause', 'succeeded'],
      ['rest-off', 'succeeded'],
      ['verify', 'succeeded'],
    ]);
    expect(named.stderr).toMatch(/admin-off: finished in an earlier attempt, but undone since .*: doing it again/);
    expect(journalOf(a.stateDir, older).some((e) => e.type === 'step.rechecked' && e.step === 'admin-off' && e.done === false)).toBe(true);
    expect(await a.flags()).toEqual(off);
  });
});

describe('resume when a later journal is damaged, or the app went down', () => {
  it('refuses to guess past a later run whose journal cannot be read', async () => {
    const { runId: older } = await interruptedRunOnA();
    const later = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--enable', '--yes', '--json', '--config', a.config])).run_id;
    const path = join(a.stateDir, 'runs', later, 'journal.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, [lines[0], '{"note":"x"}', ...lines.slice(1)].join('\n'));
    try {
      const picked = await cli(['resume', '--yes', '--config', a.config]);
      expect(picked.exitCode).toBe(2);
      expect(picked.stderr.trim()).toMatch(
        new RegExp(
          `the newest unfinished run is ${older}, but a later run has a damaged journal: .*${later}/journal\\.jsonl:2: .*name the run: trimp-rollback resume ${older} --state-dir`,
        ),
      );
      expect(await a.flags()).toEqual(on);
    } finally {
      rmSync(join(a.stateDir, 'runs', later), { recursive: true, force: true });
      rmSync(join(a.stateDir, 'runs', older), { recursive: true, force: true });
    }
  });

  it('a run moved to --via db (the app went down) completes, and its printed Resume and Undo lines work', async () => {
    const { runId } = await interruptedRunOnA();
    await a.stop();
    try {
      const resumed = await cli([
        'resume',
        runId,
        '--via',
        'db',
        '--retarget',
        '--reason',
        'the app is down',
        '--yes',
        '--json',
        '--config',
        a.config,
      ]);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      const run = jsonOf<{ status: string; undo_command: string }>(resumed);
      expect(run.status).toBe('succeeded');
      expect(a.dbFlags()).toEqual(off);
      expect(run.undo_command).toMatch(/--via db --yes$/);
      const undo = await cli(run.undo_command.split(' ').slice(1));
      expect(undo.exitCode, undo.stderr).toBe(0);
      expect(a.dbFlags()).toEqual(on);
    } finally {
      await a.start();
    }
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson, spawnCli, stepOf as step } from '../helpers/cli.js';
import { sqliteScalar } from '../helpers/files.js';
import { journalEvents } from '../helpers/processes.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-complete-');
});
afterAll(async () => {
  await sandbox?.remove();
});

const health = async () => (await (await fetch(`${sandbox.baseUrl}/health`)).json()) as { status: string; version: string };

describe('complete system rollback (runbooks/complete.yaml: the flag, application, database and flag runbooks as stages)', () => {
  it('runs the four stages as one run, restores a backup from before the run (not the one its application stage took), and its Undo line puts everything back', async () => {
    const backup = await cli(['backup', 'create', '--label', 'before-breach', '--json', '--config', sandbox.config]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const backupId = jsonOf<{ id: string }>(backup).id;
    const activitiesInBackup = jsonOf<{ row_counts: { activities: number } }>(backup).row_counts.activities;
    const appRepo = join(sandbox.dir, 'app');
    const releaseBefore = execFileSync('git', ['-C', appRepo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

    const result = await cli(['run', 'complete', '--yes', '--json', '--reason', 'security breach drill', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(run.steps.map((s) => s.id.split('.')[0])).toEqual([
      'choose-backup',
      'verify-backup',
      ...Array(8).fill('flag'),
      ...Array(11).fill('application'),
      ...Array(13).fill('database'),
      ...Array(8).fill('flag-again'),
    ]);
    expect(step(run, 'database.choose-backup').summary).toMatch(new RegExp(`^backup ${backupId.replace('.', '\\.')}: `));
    expect(step(run, 'database.choose-backup').warnings).toEqual([
      expect.stringMatching(/^skipped newer backup \S+-before-app-rollback: taken by this run$/),
    ]);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
    expect((await health()).version).toBe('1.0.0');
    expect(Number(await sqliteScalar(sandbox.database, 'SELECT COUNT(*) FROM activities'))).toBe(activitiesInBackup);
    // One journal: one run.started, every stage's steps in it.
    const events = journalEvents(run.journal as string);
    expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'step.finished').map((e) => e.step)).toContain('database.restore');

    // Undo, in reverse order of the stages, as one printed line.
    expect(run.undo_command).toMatch(
      new RegExp(
        `^trimp-rollback database undo --run ${run.run_id} --config \\S+ --yes && trimp-rollback application undo --run ${run.run_id} --config \\S+ --yes && trimp-rollback flag restore --run ${run.run_id} --config \\S+ --yes$`,
      ),
    );
    const bin = join(sandbox.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'trimp-rollback'),
      `#!/bin/sh\nexec ${process.execPath} ${join(process.cwd(), 'bin/trimp-rollback.js')} "$@"\n`,
      { mode: 0o755 },
    );
    execFileSync('sh', ['-c', run.undo_command as string], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
      stdio: 'ignore',
      timeout: 120_000,
    });
    expect(await sandbox.flags()).toEqual({ admin: true, beta: true, regular: true });
    expect((await health()).version).toBe('1.1.0');
    expect(execFileSync('git', ['-C', appRepo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()).toBe(releaseBefore);
  }, 120_000);

  it('killed in its database stage, it resumes to the end without redoing earlier stages, and its Undo line still names all three undos', async () => {
    // The previous test left everything as before; a backup from before this run exists.
    const runsDir = join(sandbox.stateDir, 'runs');
    const before = new Set(readdirSync(runsDir));
    const child = spawnCli(['run', 'complete', '--yes', '--config', sandbox.config]);
    let runId: string | undefined;
    for (let i = 0; i < 600 && !runId; i++) {
      await sleep(25);
      const id = readdirSync(runsDir).find((r) => !before.has(r));
      const journal = id && join(runsDir, id, 'journal.jsonl');
      if (journal && existsSync(journal) && readFileSync(journal, 'utf8').includes('"step":"database.keep-current","status":"succeeded"')) {
        child.kill('SIGKILL');
        runId = id;
      }
    }
    expect(runId, 'the run never got to database.keep-current').toBeDefined();
    expect((await child).signal).toBe('SIGKILL');
    const resumed = await cli(['resume', runId as string, '--yes', '--json', '--config', sandbox.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const run = jsonOf<RunJson>(resumed);
    // The application stage started the app, the database stage stopped it: that start is not redone.
    expect(step(run, 'application.start-app')).toMatchObject({ status: 'done-before' });
    // The kill is sent once keep-current is journaled; on a loaded machine the restore may finish
    // before it lands. Either way it is done exactly once: by the killed attempt or by the resume.
    expect(['succeeded', 'done-before']).toContain(step(run, 'database.restore').status);
    expect(run.status).toBe('succeeded');
    expect(run.undo_command).toMatch(
      /^trimp-rollback database undo --run \S+ .* && trimp-rollback application undo --run \S+ .* && trimp-rollback flag restore --run \S+ /,
    );
    expect((await health()).version).toBe('1.0.0');
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
  }, 120_000);

  it('a runbook that runs itself, or an unknown one, is refused before anything runs (exit 2)', async () => {
    const loop = join(sandbox.dir, 'loop.yaml');
    writeFileSync(
      loop,
      'version: 1\nid: complete\ntitle: Loop\nuse_case: test\nimpact: none\nbudget: 1m\nsteps:\n  - { id: again, title: Again, action: runbook, with: { runbook: complete } }\n',
    );
    const cycle = await cli(['run', loop, '--yes', '--config', sandbox.config]);
    expect(cycle.exitCode).toBe(2);
    expect(cycle.stderr).toMatch(/step again runs runbook complete, which is already running above it \(complete\)/);
    const unknown = join(sandbox.dir, 'unknown.yaml');
    writeFileSync(
      unknown,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a runbook's reference to an input, not a template
      'version: 1\nid: outer\ntitle: Outer\nuse_case: test\nimpact: none\nbudget: 1m\nsteps:\n  - { id: inner, title: Inner, action: runbook, with: { runbook: nope, inputs: { x: "${inputs.missing}" } } }\n',
    );
    const bad = await cli(['run', unknown, '--yes', '--config', sandbox.config]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/steps\[0\]\.with\.inputs\.x.*reference to undeclared input "missing"/);
  });
});

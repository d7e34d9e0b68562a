import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson, spawnCli, stepOf as step } from '../helpers/cli.js';
import { alive, journalEvents, startStubbornApp } from '../helpers/processes.js';
import { sha256, startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sandbox(): Promise<TestSandbox & { appDir: string }> {
  const sb = await startTestSandbox('trimp-application-');
  cleanups.push(() => sb.remove());
  return Object.assign(sb, { appDir: join(sb.dir, 'app') });
}
const git = async (dir: string, ...args: string[]) => String((await execa('git', ['-C', dir, ...args])).stdout).trim();
const head = (dir: string) => git(dir, 'rev-parse', 'HEAD');
const health = async (sb: TestSandbox) => (await (await fetch(`${sb.baseUrl}/health`)).json()) as { status: string; version: string };
const appPid = (sb: TestSandbox) => Number(readFileSync(join(sb.dir, 'sandbox.pid'), 'utf8'));

describe('application rollback against the sandbox (a real git checkout, real processes)', () => {
  it('a bad deploy is rolled back to the commit before it, recorded in deploys.jsonl; undo returns, and the roll-forward line is printed when that release is unhealthy', async () => {
    const sb = await sandbox();
    const good = await head(sb.appDir);
    expect((await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy'])).exitCode).toBe(0);
    const bad = await head(sb.appDir);
    expect((await health(sb)).version).toBe('1.2.0');

    const result = await cli(['application', '--yes', '--json', '--reason', 'release 1.2.0 fails /health', '--config', sb.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(step(run, 'plan-release').summary).toMatch(
      new RegExp(
        `${bad.slice(0, 12)} \\(1\\.2\\.0\\) → ${good.slice(0, 12)} \\(1\\.1\\.0\\), chosen by HEAD~1 .*undoes 1 commit\\(s\\): ${bad.slice(0, 7)} release 1\\.2\\.0`,
      ),
    );
    expect(await head(sb.appDir)).toBe(good);
    expect(await health(sb)).toMatchObject({ status: 'healthy', version: '1.1.0' });
    const [deployment] = readFileSync(join(sb.stateDir, 'deploys.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(deployment).toMatchObject({
      run_id: run.run_id,
      from_commit: bad,
      to_commit: good,
      from_version: '1.2.0',
      to_version: '1.1.0',
      reason: 'release 1.2.0 fails /health',
      operator: expect.any(String),
    });
    expect(step(run, 'backup-database').summary).toMatch(/^backup \d{8}T.*-before-app-rollback: .* quick_check ok/);
    expect(run.undo_command).toBe(`trimp-rollback application undo --run ${run.run_id} --config ${sb.config} --yes`);

    // Undo goes back to the bad release: it never becomes healthy, and the way back is printed.
    writeFileSync(sb.config, readFileSync(sb.config, 'utf8').replace('health_deadline: 60s', 'health_deadline: 3s'));
    const undo = await cli(['application', 'undo', '--run', run.run_id, '--yes', '--config', sb.config]);
    expect(undo.exitCode).toBe(1);
    expect(await head(sb.appDir)).toBe(bad);
    expect(undo.stdout).toMatch(/start-app\s+failed .*not healthy/);
    expect(undo.stdout).toMatch(
      new RegExp(
        `did not become healthy\\. Back to what ran before \\(${good.slice(0, 12)}, 1\\.1\\.0\\):\\n  trimp-rollback application --to ${good} --config `,
      ),
    );
    // And the default next time is the commit that ran before, from the deploy history, not HEAD~1.
    const dry = await cli(['application', '--dry-run', '--config', sb.config]);
    expect(dry.stdout).toMatch(/chosen by the commit that ran before it \(deploy history\)/);
  });

  it('a clean rollback to 1.0.0 and its undo back to 1.1.0: both healthy, validated, and the running release behaves as checked out', async () => {
    const sb = await sandbox();
    // Release 1.0.0 has only the average method: with the flag off, validation expects exactly that.
    expect((await cli(['flag', '--all', '--yes', '--config', sb.config])).exitCode).toBe(0);
    const newer = await head(sb.appDir);
    const older = await git(sb.appDir, 'rev-parse', 'HEAD~1');
    const back = await cli(['application', '--to', 'HEAD~1', '--yes', '--json', '--config', sb.config]);
    expect(back.exitCode, back.stderr).toBe(0);
    const run = jsonOf<RunJson>(back);
    expect(await head(sb.appDir)).toBe(older);
    expect(await health(sb)).toMatchObject({ status: 'healthy', version: '1.0.0' });
    // The notice to users is drafted for an application rollback (downtime), here not sent.
    expect(run.steps.find((s) => s.id === 'draft-notice')?.status).toBe('succeeded');
    const report = readFileSync(join(dirname(run.journal as string), 'report.md'), 'utf8');
    expect(report).toMatch(
      /## Notice to users\n\n_succeeded: nothing to change: no notify.users channel: the notice is in the report, to send by hand_/,
    );
    expect(report).toContain('> We found a problem with a recent update to how training load (TRIMP) is calculated');
    expect(report).toContain('> Your training data is safe.');
    // 1.0.0 computes the average even for a user whose flag is on.
    expect((await cli(['flag', '--user-type', 'admin', '--enable', '--yes', '--config', sb.config])).exitCode).toBe(1);
    const calc = await fetch(`${sb.baseUrl}/api/trimp/calculate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 1, duration_minutes: 60, avg_hr: 150, hr_stream: Array(60).fill(150) }),
    });
    expect(((await calc.json()) as { method: string }).method).toBe('average');
    expect((await cli(['flag', '--all', '--yes', '--config', sb.config])).exitCode).toBe(0);

    const undo = await cli(['application', 'undo', '--run', run.run_id, '--yes', '--json', '--config', sb.config]);
    expect(undo.exitCode, undo.stderr).toBe(0);
    expect(await head(sb.appDir)).toBe(newer);
    expect(await health(sb)).toMatchObject({ status: 'healthy', version: '1.1.0' });
    const history = readFileSync(join(sb.stateDir, 'deploys.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(history.map((d) => [d.from_version, d.to_version])).toEqual([
      ['1.1.0', '1.0.0'],
      ['1.0.0', '1.1.0'],
    ]);
  });

  it('a dry run shows every signal, git command and file operation, and changes nothing', async () => {
    const sb = await sandbox();
    await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy']);
    const [commit, pid, db] = [await head(sb.appDir), appPid(sb), sha256(sb.database)];
    const result = await cli(['application', '--dry-run', '--config', sb.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await head(sb.appDir)).toBe(commit);
    expect(await git(sb.appDir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(appPid(sb)).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect(sha256(sb.database)).toBe(db);
    expect(existsSync(join(sb.stateDir, 'deploys.jsonl'))).toBe(false);
    expect(existsSync(join(sb.dir, 'backups'))).toBe(false);
    expect(result.stdout).toMatch(/would: SIGTERM the pid in .*sandbox\.pid/);
    expect(result.stdout).toMatch(/would: git -C .*\/app checkout --quiet --detach <the commit chosen by the plan>/);
    expect(result.stdout).toMatch(/would: append the deployment to .*deploys\.jsonl/);
    expect(result.stdout).toMatch(/would: backup .*training_data\.db → .*backups\/<id>-before-app-rollback\.db/);
    expect(result.stdout).toMatch(/commits undone:\n\s+\w+ release 1\.2\.0/);
  });

  it('a dirty work tree is refused (exit 1, nothing changed); --force deploys and journals the diff stat', async () => {
    const sb = await sandbox();
    await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy']);
    const bad = await head(sb.appDir);
    writeFileSync(join(sb.appDir, '.gitignore'), 'logs/\nlocal-hotfix\n');
    const refused = await cli(['application', '--yes', '--json', '--config', sb.config]);
    expect(refused.exitCode).toBe(1);
    expect(step(jsonOf<RunJson>(refused), 'plan-release').summary).toMatch(
      /has uncommitted changes \(1 file\(s\): M \.gitignore\); nothing was changed/,
    );
    expect(await head(sb.appDir)).toBe(bad);

    const forced = await cli(['application', '--yes', '--force', '--json', '--config', sb.config]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const run = jsonOf<RunJson>(forced);
    expect(step(run, 'plan-release').status).toBe('warned');
    const dirty = journalEvents(run.journal as string).find((e) => e.name === 'dirty_tree')?.data as { diff_stat: string };
    expect(dirty.diff_stat).toMatch(/\.gitignore \| 1 \+/);
    expect(readFileSync(join(sb.appDir, '.gitignore'), 'utf8')).toContain('local-hotfix');
  });

  it('a local change the checkout would overwrite stops the run even with --force; a history line that names no commit here falls back to HEAD~1, said', async () => {
    const sb = await sandbox();
    await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy']);
    const bad = await head(sb.appDir);
    const pid = appPid(sb);
    writeFileSync(join(sb.appDir, 'app.json'), `${readFileSync(join(sb.appDir, 'app.json'), 'utf8')} `);
    const forced = await cli(['application', '--force', '--yes', '--json', '--config', sb.config]);
    expect(forced.exitCode).toBe(1);
    const run = jsonOf<RunJson>(forced);
    expect(step(run, 'plan-release').summary).toMatch(
      /git checkout of \w{12} would fail here: Entry 'app\.json' not uptodate\. Cannot merge\.; nothing was changed/,
    );
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(alive(pid)).toBe(true);
    await git(sb.appDir, 'checkout', '--', 'app.json');

    const other = 'f'.repeat(40);
    writeFileSync(
      join(sb.stateDir, 'deploys.jsonl'),
      `${JSON.stringify({ run_id: 'x', app_dir: sb.appDir, from_commit: '--orphan=x', to_commit: bad })}\n${JSON.stringify({ run_id: 'y', app_dir: sb.appDir, from_commit: other, to_commit: bad })}\n`,
    );
    const dry = await cli(['application', '--dry-run', '--config', sb.config]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`chosen by HEAD~1 \\(the deploy history names ${other}, which is not a commit here\\)`));
  });

  it('an unknown ref is refused with exit 2 before any plan; a release expecting another schema stops before anything changes', async () => {
    const sb = await sandbox();
    const unknown = await cli(['application', '--to', 'v9.9.9', '--yes', '--config', sb.config]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^trimp-rollback: unknown ref in .*\/app: "v9\.9\.9"/);
    expect((await cli(['application', '--to', '--upload-pack=x', '--yes', '--config', sb.config])).exitCode).toBe(2);
    const already = await cli(['application', '--to', 'HEAD', '--yes', '--config', sb.config]);
    expect(already.exitCode).toBe(2);
    expect(already.stderr).toMatch(/is already at HEAD \(\w{12}\): nothing to deploy/);

    // A release that expects schema 2, against a database at user_version 1.
    const current = await head(sb.appDir);
    writeFileSync(join(sb.appDir, 'app.json'), JSON.stringify({ version: '2.0.0', enhanced_trimp: true, schema: 2 }));
    await git(sb.appDir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'release 2.0.0 (schema 2)');
    const newer = await head(sb.appDir);
    await git(sb.appDir, 'checkout', '--quiet', '--detach', current);
    const pid = appPid(sb);
    const result = await cli(['application', '--to', newer, '--yes', '--json', '--config', sb.config]);
    expect(result.exitCode).toBe(1);
    const run = jsonOf<RunJson>(result);
    expect(step(run, 'plan-release').summary).toMatch(
      /the release expects database schema 2, the database has 1: .*the database rollback \(trimp-rollback database\) is the scenario that fits; nothing was changed/,
    );
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(alive(pid)).toBe(true);
    expect(await head(sb.appDir)).toBe(current);
  });

  it('a PID file naming a dead process while the app runs, or an unrelated live one: refused before anything changes, saying what it found', async () => {
    const sb = await sandbox();
    await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy']);
    const real = appPid(sb);
    writeFileSync(join(sb.dir, 'sandbox.pid'), '999999\n');
    const stale = await cli(['application', '--yes', '--json', '--config', sb.config]);
    expect(stale.exitCode).toBe(1);
    // The PID file is stale, but the real app still holds the database: found, and named.
    expect(step(jsonOf<RunJson>(stale), 'preflight').summary).toMatch(
      new RegExp(`pid ${real} holds .*training_data\\.db open besides the app`),
    );

    const bystander = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    bystander.unref();
    cleanups.push(() => {
      try {
        process.kill(bystander.pid as number, 'SIGKILL');
      } catch {}
    });
    writeFileSync(join(sb.dir, 'sandbox.pid'), `${bystander.pid}\n`);
    const foreign = await cli(['application', '--yes', '--json', '--config', sb.config]);
    expect(foreign.exitCode).toBe(1);
    expect(step(jsonOf<RunJson>(foreign), 'preflight').summary).toMatch(
      new RegExp(`names pid ${bystander.pid} \\("sleep 300"\\), which is not the app`),
    );
    expect(alive(bystander.pid as number)).toBe(true);
    expect(alive(real)).toBe(true);
  });

  it('an app that ignores SIGTERM: Ctrl-C while it is being stopped, then resume; it is killed after the grace period and the target release runs', async () => {
    const sb = await sandbox();
    await cli(['sandbox', 'break', '--dir', sb.dir, 'bad-deploy']);
    const good = await git(sb.appDir, 'rev-parse', 'HEAD~1');
    await sb.stop();
    const app = await startStubbornApp(sb, '1500ms');
    cleanups.push(() => app.kill());
    const config = app.config;

    const child = spawnCli(['application', '--yes', '--config', config]);
    // Ctrl-C once the stop step has begun (it waits out the grace period, then kills).
    const runs = join(sb.stateDir, 'runs');
    for (let i = 0; i < 200; i++) {
      const [id] = existsSync(runs) ? readdirSync(runs) : [];
      if (
        id &&
        existsSync(join(runs, id, 'journal.jsonl')) &&
        readFileSync(join(runs, id, 'journal.jsonl'), 'utf8').includes('"step":"stop-app"')
      )
        break;
      await sleep(25);
    }
    child.kill('SIGINT');
    const ended = await child;
    expect(ended.signal ?? ended.exitCode).toMatch(/SIGINT|130/);
    expect(`${ended.stdout}`).toMatch(/Resume with: trimp-rollback resume \S+/);
    expect(`${ended.stdout}`).toMatch(
      /The app is STOPPED: this run stopped it and did not start it again\. Resume finishes the rollback; Undo puts back what ran before and starts the app\./,
    );
    expect(alive(app.pid)).toBe(false);
    const [runId] = readdirSync(runs);
    const journal = journalEvents(join(runs, runId as string, 'journal.jsonl'));
    const stop = journal.find((e) => e.type === 'step.finished' && e.step === 'stop-app');
    expect(stop?.status).toBe('warned');
    expect(journal.some((e) => e.type === 'run.interrupted')).toBe(true);

    const resumed = await cli(['resume', runId as string, '--yes', '--json', '--config', config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await head(sb.appDir)).toBe(good);
    expect(await health(sb)).toMatchObject({ status: 'healthy', version: '1.1.0' });
  });
});

import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT, type RunJson, stepOf as step } from '../helpers/cli.js';
import { canMountTmpfs, flipByte, integrityCheck, mountTmpfs, sqliteScalar } from '../helpers/files.js';
import { alive, journalEvents, startStubbornApp } from '../helpers/processes.js';
import { sha256, startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

interface Manifest {
  id: string;
  file: string;
  sha256: string;
  size: number;
  max_activity_id: number;
  row_counts: Record<string, number>;
  created_at: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sandboxWithBackup(options: { traffic?: number; dir?: string } = {}) {
  const sandbox = await startTestSandbox('trimp-database-', options);
  cleanups.push(() => sandbox.remove());
  const created = await cli(['backup', 'create', '--json', '--config', sandbox.config]);
  expect(created.exitCode, created.stderr).toBe(0);
  return { sandbox, manifest: jsonOf<Manifest>(created) };
}

const appPid = (sandbox: TestSandbox) => Number(readFileSync(join(sandbox.dir, 'sandbox.pid'), 'utf8'));
const addActivities = async (sandbox: TestSandbox, n: number) => {
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${sandbox.baseUrl}/api/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 4 + (i % 10), duration_minutes: 40, avg_hr: 145 }),
    });
    expect(response.status).toBe(201);
  }
};
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

/** Every file under the sandbox but the app's own logs, with its SHA-256: what "changed nothing" means. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const rel = relative(dir, full);
      if (rel.startsWith('app/logs') || rel.startsWith('app/.git')) continue;
      if (statSync(full).isDirectory()) walk(full);
      else out[rel] = sha256(full);
    }
  };
  walk(dir);
  return out;
}

describe('database rollback against the sandbox', () => {
  it('under live traffic: restores the newest verified backup, proves it, journals every step; undo puts the kept database back', async () => {
    const { sandbox, manifest } = await sandboxWithBackup({ traffic: 40 });
    await addActivities(sandbox, 5); // lost by the rollback, and counted as such
    const oldPid = appPid(sandbox);

    const result = await cli(['database', '--yes', '--json', '--reason', 'test', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ['baseline', 'succeeded'],
      ['choose-backup', 'succeeded'],
      ['verify-backup', 'succeeded'],
      ['preflight', 'succeeded'],
      ['draft-notice', 'succeeded'],
      ['notify-users', 'succeeded'],
      ['stop-app', 'succeeded'],
      ['keep-current', 'succeeded'],
      ['restore', 'succeeded'],
      ['check-restored', 'succeeded'],
      ['start-app', 'succeeded'],
      ['health', 'succeeded'],
      ['validate', 'succeeded'],
    ]);
    expect(step(run, 'choose-backup').summary).toMatch(new RegExp(`backup ${manifest.id.replace('.', '\\.')}: taken \\d+ s ago`));
    expect(step(run, 'choose-backup').summary).toMatch(/(\d+) activities newer than it will be lost/);
    expect(Number(/(\d+) activities newer/.exec(step(run, 'choose-backup').summary)?.[1])).toBeGreaterThanOrEqual(5);
    expect(step(run, 'stop-app').summary).toMatch(new RegExp(`pid ${oldPid} stopped on SIGTERM`));
    expect(alive(oldPid)).toBe(false);
    const newPid = appPid(sandbox);
    expect(newPid).not.toBe(oldPid);
    expect(step(run, 'start-app').summary).toMatch(new RegExp(`pid ${newPid} healthy after \\d+ ms`));

    // Every activity the backup held is there (the sqlite3 CLI counts, not our code), and it is whole.
    expect(
      Number(await sqliteScalar(sandbox.database, `SELECT COUNT(*) FROM activities WHERE activity_id <= ${manifest.max_activity_id}`)),
    ).toBe(manifest.row_counts.activities);
    expect(await integrityCheck(sandbox.database)).toBe('ok');
    // validate on its own afterwards judges the rows against the restored backup, as the run did:
    // the activities the rollback lost on purpose are not "rows lost since the baseline".
    const afterwards = await cli(['validate', '--checks', 'historical-data', '--config', sandbox.config]);
    expect(afterwards.exitCode, afterwards.stdout).toBe(0);

    // The journal tells what was kept, with its checksum, and the Undo line names the run.
    const journal = journalEvents(run.journal as string);
    const kept = journal.find((e) => e.name === 'kept_database')?.data as { path: string; sha256: string };
    expect(kept.path).toBe(`${sandbox.database}.pre-restore-${run.run_id}`);
    expect(sha256(kept.path)).toBe(kept.sha256);
    expect(run.undo_command).toBe(`trimp-rollback database undo --run ${run.run_id} --config ${sandbox.config} --yes`);

    // The notice to users is drafted (no notify.users channel here: not sent), with the restore point.
    expect(step(run, 'notify-users').summary).toBe(
      'nothing to change: no notify.users channel: the notice is in the report, to send by hand',
    );
    const report = readFileSync(join(dirname(run.journal as string), 'report.md'), 'utf8');
    const backupTime = `${manifest.created_at.slice(11, 16)} UTC`;
    expect(report).toContain('## Notice to users');
    expect(report).toContain(`as it was at ${backupTime}`);
    // The database runbook's budget is 60 minutes: the resolution time is the start plus that.
    const by = new Date(Date.parse(run.started_at) + 60 * 60_000).toISOString().slice(11, 16);
    expect(report).toContain(`back to normal by ${by} UTC`);

    const undo = await cli(['database', 'undo', '--run', run.run_id, '--yes', '--json', '--config', sandbox.config]);
    expect(undo.exitCode, undo.stderr).toBe(0);
    const undone = jsonOf<RunJson>(undo);
    expect(undone.status).toBe('succeeded');
    // What was swapped in is, byte for byte, the database the first run kept aside.
    expect(step(undone, 'restore').evidence?.sha256).toBe(kept.sha256);
    expect(step(undone, 'check-restored').status).toBe('succeeded');
    // The five activities the rollback lost are back.
    expect(
      Number(
        await sqliteScalar(
          sandbox.database,
          `SELECT COUNT(*) FROM activities WHERE activity_id > ${manifest.max_activity_id} AND name = 'Synced activity'`,
        ),
      ),
    ).toBeGreaterThanOrEqual(5);
  });

  it('a dry run changes nothing, byte for byte, and shows every signal, file operation and check with sizes and ids', async () => {
    const { sandbox, manifest } = await sandboxWithBackup();
    const pid = appPid(sandbox);
    const before = snapshot(sandbox.dir);

    const result = await cli(['database', '--dry-run', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(snapshot(sandbox.dir)).toEqual(before);
    expect(appPid(sandbox)).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect(existsSync(join(sandbox.stateDir, 'runs'))).toBe(false);

    const out = result.stdout;
    expect(out).toMatch(new RegExp(`backup ${manifest.id.replace('.', '\\.')}: taken \\d+ s ago, [\\d.]+ MiB, rows: activities \\d+`));
    expect(out).toMatch(/would: SIGTERM the pid in .*sandbox\.pid \(only if \/proc shows it runs: .*sandbox\/server\.js/);
    expect(out).toMatch(/would: up to 10\.0 s for it to exit, then SIGKILL/);
    expect(out).toMatch(/would: link .*training_data\.db → .*training_data\.db\.pre-restore-\d{8}T/);
    expect(out).toMatch(/would: copy the chosen database → .*\.training_data\.db\.trimp-stage-/);
    expect(out).toMatch(/would: PRAGMA quick_check on .*trimp-stage-/);
    expect(out).toMatch(/would: rm .*training_data\.db-wal .*-shm .*-journal/);
    expect(out).toMatch(/would: rename .*trimp-stage-.* → .*training_data\.db, fsync/);
    expect(out).toMatch(/needs [\d.]+ MiB free in /);
    expect(out).toMatch(/would: .*--traffic 0 \(no shell; detached, its own process group/);
    expect(out).toMatch(/the app \(pid \d+\) stops: users get no answers until the start step/);

    // --thorough: integrity_check instead of quick_check, on the backup and on the staged copy.
    const thorough = await cli(['database', '--dry-run', '--thorough', '--config', sandbox.config]);
    expect(thorough.exitCode, thorough.stderr).toBe(0);
    expect(thorough.stdout).toMatch(/integrity_check: ok/);
    expect(thorough.stdout).toMatch(/would: PRAGMA integrity_check on .*trimp-stage-/);
    expect(snapshot(sandbox.dir)).toEqual(before);
  });

  it('a backup with flipped bytes is refused before anything changes (the app keeps running, the file is untouched)', async () => {
    const { sandbox, manifest } = await sandboxWithBackup();
    flipByte(join(sandbox.dir, 'backups', manifest.file));
    const pid = appPid(sandbox);
    const databaseBefore = sha256(sandbox.database);

    const named = await cli(['database', '--backup', manifest.id, '--yes', '--json', '--config', sandbox.config]);
    expect(named.exitCode).toBe(1);
    const run = jsonOf<RunJson>(named);
    expect(step(run, 'verify-backup').status).toBe('failed');
    expect(step(run, 'verify-backup').summary).toMatch(/does not verify: sha256: .*nothing was changed/);
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(journalEvents(run.journal as string).some((e) => e.type === 'step.started' && e.step === 'stop-app')).toBe(false);
    expect(run.undo_command).toBeNull();

    const newest = await cli(['database', '--yes', '--json', '--config', sandbox.config]);
    expect(newest.exitCode).toBe(1);
    expect(step(jsonOf<RunJson>(newest), 'choose-backup').summary).toMatch(
      /none of the 1 backups in .* verifies: \d{8}T.*: SHA-256 [0-9a-f]{16}…, the manifest says/,
    );

    expect(appPid(sandbox)).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect(sha256(sandbox.database)).toBe(databaseBefore);
    expect(readdirSync(sandbox.dir).filter((n) => n.includes('pre-restore') || n.includes('trimp-stage'))).toEqual([]);
  });

  it('an unknown or path-like --backup is refused with exit 2 before any plan; a backup without its manifest fails before anything changes', async () => {
    const { sandbox, manifest } = await sandboxWithBackup();
    const unknown = await cli(['database', '--backup', '20991231T000000.000Z', '--yes', '--config', sandbox.config]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^trimp-rollback: no backup 20991231T000000\.000Z in .*backups/);
    noStack(unknown.stderr);
    const pathLike = await cli(['database', '--backup', '../training_data', '--yes', '--config', sandbox.config]);
    expect(pathLike.exitCode).toBe(2);
    expect(pathLike.stderr).toMatch(/not a backup id/);
    expect(existsSync(join(sandbox.stateDir, 'runs'))).toBe(false);

    rmSync(join(sandbox.dir, 'backups', `${manifest.id}.json`));
    const pid = appPid(sandbox);
    const orphan = await cli(['database', '--backup', manifest.id, '--yes', '--json', '--config', sandbox.config]);
    expect(orphan.exitCode).toBe(1);
    expect(step(jsonOf<RunJson>(orphan), 'choose-backup').summary).toMatch(/cannot be used: no manifest/);
    expect(alive(pid)).toBe(true);
  });

  it('an app that ignores SIGTERM is SIGKILLed after the grace period; the run completes and says so', async () => {
    const { sandbox } = await sandboxWithBackup();
    // Replace the app by one stuck in its shutdown, started as the config says.
    await sandbox.stop();
    const app = await startStubbornApp(sandbox, '1s');
    cleanups.push(() => app.kill());
    const config = app.config;

    const result = await cli(['database', '--yes', '--json', '--config', config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    const stop = step(run, 'stop-app');
    expect(stop.status).toBe('warned');
    expect(stop.summary).toMatch(new RegExp(`pid ${app.pid} ignored SIGTERM for 1\\.00 s: SIGKILL sent, gone after \\d+ ms`));
    expect(alive(app.pid)).toBe(false);
    expect(step(run, 'restore').status).toBe('succeeded');
    expect(step(run, 'start-app').status).toBe('succeeded');
    const journal = journalEvents(run.journal as string);
    expect(journal.find((e) => e.type === 'step.finished' && e.step === 'stop-app')?.status).toBe('warned');
  });

  it('a PID file naming an unrelated live process: it is not signalled and survives; nothing changes (exit 1)', async () => {
    const { sandbox } = await sandboxWithBackup();
    const bystander = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    bystander.unref();
    cleanups.push(() => {
      try {
        process.kill(bystander.pid as number, 'SIGKILL');
      } catch {}
    });
    const appPidBefore = appPid(sandbox);
    writeFileSync(join(sandbox.dir, 'sandbox.pid'), `${bystander.pid}\n`);
    const databaseBefore = sha256(sandbox.database);

    const result = await cli(['database', '--yes', '--json', '--config', sandbox.config]);
    expect(result.exitCode).toBe(1);
    const run = jsonOf<RunJson>(result);
    // Found before anything changes: the app is not stopped for a rollback that could not go on.
    const preflight = step(run, 'preflight');
    expect(preflight.status).toBe('failed');
    expect(preflight.summary).toMatch(
      new RegExp(`names pid ${bystander.pid} \\("sleep 300"\\), which is not the app: it would not be stopped`),
    );
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(alive(bystander.pid as number)).toBe(true);
    expect(alive(appPidBefore)).toBe(true);
    expect(step(run, 'keep-current').status).toBe('not-run');
    expect(sha256(sandbox.database)).toBe(databaseBefore);
    expect(journalEvents(run.journal as string).find((e) => e.type === 'step.finished' && e.step === 'preflight')?.status).toBe('failed');
    expect(journalEvents(run.journal as string).some((e) => e.type === 'step.started' && e.step === 'stop-app')).toBe(false);

    // That failed run chose the backup: a prune keeps it for the run's resume.
    const newer = await cli(['backup', 'create', '--label', 'newer', '--config', sandbox.config]);
    expect(newer.exitCode, newer.stderr).toBe(0);
    const pruned = await cli(['backup', 'prune', '--keep', '1', '--config', sandbox.config]);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(new RegExp(`kept \\S+: run ${run.run_id} chose it and has not finished`));
    expect(readdirSync(join(sandbox.dir, 'backups')).filter((n) => n.endsWith('.db'))).toHaveLength(2);
  });

  it('a database held open by another process: refused before the app stops (exit 1), nothing lost; resume completes once it closes', async () => {
    const { sandbox, manifest } = await sandboxWithBackup();
    await addActivities(sandbox, 3);
    const holder = spawn(
      process.execPath,
      [
        '-e',
        "const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.prepare('SELECT 1').get(); setInterval(() => {}, 1000);",
        sandbox.database,
      ],
      { cwd: ROOT, stdio: 'ignore' },
    );
    cleanups.push(() => {
      holder.kill('SIGKILL');
    });
    await sleep(300);

    const result = await cli(['database', '--yes', '--json', '--config', sandbox.config]);
    expect(result.exitCode).toBe(1);
    const run = jsonOf<RunJson>(result);
    // Found while the app still runs: nothing is stopped for a restore that could not go on.
    const preflight = step(run, 'preflight');
    expect(preflight.status).toBe('failed');
    expect(preflight.summary).toMatch(new RegExp(`pid ${holder.pid} holds .*training_data\\.db open besides the app: stop it first`));
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(alive(appPid(sandbox))).toBe(true);
    expect(
      Number(await sqliteScalar(sandbox.database, `SELECT COUNT(*) FROM activities WHERE activity_id > ${manifest.max_activity_id}`)),
    ).toBe(3);

    const ended = new Promise((resolve) => holder.on('exit', resolve));
    holder.kill('SIGTERM');
    await ended;
    const resumed = await cli(['resume', run.run_id, '--yes', '--json', '--config', sandbox.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(jsonOf<RunJson>(resumed).status).toBe('succeeded');
    expect(sha256(sandbox.database)).toBe(manifest.sha256);
    expect(Number(await sqliteScalar(sandbox.database, `SELECT COUNT(*) FROM activities`))).toBe(manifest.row_counts.activities);
  });

  it.skipIf(!canMountTmpfs())('not enough disk beside the database (a real tmpfs): refused before the app stops (exit 1)', async () => {
    const mountPoint = `/tmp/trimp-small-disk-${process.pid}`;
    const disk = mountTmpfs(mountPoint, '6m');
    expect(disk).toBeDefined();
    cleanups.push(() => disk?.unmount());
    const { sandbox, manifest } = await sandboxWithBackup({ dir: join(mountPoint, 'sandbox') });
    // Fill the disk so that the database fits, but a second copy of it does not.
    const { execFileSync } = await import('node:child_process');
    execFileSync('sh', ['-c', `dd if=/dev/zero of=${mountPoint}/filler bs=64k 2>/dev/null; true`]);
    execFileSync('sh', ['-c', `truncate -s -${manifest.size + 512 * 1024} ${mountPoint}/filler`]);
    const pid = appPid(sandbox);
    const before = sha256(sandbox.database);
    const result = await cli(['database', '--yes', '--json', '--config', sandbox.config]);
    expect(result.exitCode).toBe(1);
    const run = jsonOf<RunJson>(result);
    expect(step(run, 'preflight').summary).toMatch(
      /not enough disk to stage the restore: .* has [\d.]+ MiB free, the copy needs [\d.]+ MiB; nothing was changed/,
    );
    expect(step(run, 'verify-backup').status).toBe('succeeded');
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(alive(pid)).toBe(true);
    expect(sha256(sandbox.database)).toBe(before);
  });

  it('a symlinked target.database: the file it points to is restored (the link stays a link), and kept', async () => {
    const { sandbox, manifest } = await sandboxWithBackup();
    await addActivities(sandbox, 2);
    const link = join(sandbox.dir, 'linked', 'db.sqlite');
    mkdirSync(join(sandbox.dir, 'linked'));
    symlinkSync(sandbox.database, link);
    const config = join(sandbox.dir, 'linked.yaml');
    writeFileSync(config, readFileSync(sandbox.config, 'utf8').replace('database: ./training_data.db', `database: ${link}`));

    const result = await cli(['database', '--yes', '--json', '--config', config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(sha256(sandbox.database)).toBe(manifest.sha256);
    expect(existsSync(`${sandbox.database}.pre-restore-${run.run_id}`)).toBe(true);
    expect(Number(await sqliteScalar(sandbox.database, 'SELECT COUNT(*) FROM activities'))).toBe(manifest.row_counts.activities);
  });

  it('a start command that does not exist is found before the app is stopped (exit 1, the app keeps running)', async () => {
    const { sandbox } = await sandboxWithBackup();
    const config = join(sandbox.dir, 'no-start.yaml');
    writeFileSync(
      config,
      readFileSync(sandbox.config, 'utf8').replace(/ {4}start: .*/, '    start: ["/nonexistent/app-binary", "--serve"]'),
    );
    const pid = appPid(sandbox);
    const result = await cli(['database', '--yes', '--json', '--config', config]);
    expect(result.exitCode).toBe(1);
    const run = jsonOf<RunJson>(result);
    // Its PID file names the sandbox, which this start command would not be: both are said.
    expect(step(run, 'preflight').summary).toMatch(
      /the app could not be started again: \/nonexistent\/app-binary is not an executable file/,
    );
    expect(step(run, 'stop-app').status).toBe('not-run');
    expect(alive(pid)).toBe(true);
  });
});

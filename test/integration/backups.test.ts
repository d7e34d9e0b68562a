import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT } from '../helpers/cli.js';
import { canMountTmpfs, flipByte, integrityCheck, mountTmpfs, sqliteScalar } from '../helpers/files.js';
import { sha256, startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

interface Manifest {
  id: string;
  file: string;
  size: number;
  sha256: string;
  row_counts: Record<string, number>;
  quick_check: string;
  duration_ms: number;
}
interface Listed {
  backups: { id: string; verifies: boolean; problem: string | null; size: number; row_counts: Record<string, number> }[];
}

let sandbox: TestSandbox;
const backupsDir = () => join(sandbox.dir, 'backups');
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

beforeAll(async () => {
  // About 20 MB: the backup takes several steps, so writers commit between them.
  sandbox = await startTestSandbox('trimp-backup-', { activities: 60_000 });
}, 60_000);
afterAll(async () => {
  await sandbox?.remove();
});

/** Another process committing as fast as it can: one row per transaction. */
function writer(database: string) {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 5000 });
    const insert = db.prepare("INSERT INTO activities (user_id, date, name, type, duration_minutes, avg_heart_rate, trimp, trimp_calculation_method) VALUES (5, datetime('now'), 'writer', 'Run', 30, 140, 40, 'average')");
    let commits = 0;
    const tick = () => { for (let i = 0; i < 5; i++) { insert.run(); commits++; } setImmediate(tick); };
    process.on('SIGTERM', () => { process.stdout.write(String(commits)); process.exit(0); });
    tick();`;
  const child = spawn(process.execPath, ['-e', script, database], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  return {
    async stop(): Promise<number> {
      const ended = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await ended;
      return Number(out);
    },
  };
}

describe('backup create / list / verify / prune', () => {
  it('a backup taken while another process commits hundreds of times a second finishes and passes integrity_check (sqlite3 CLI)', async () => {
    const writes = writer(sandbox.database);
    await sleep(300);
    const before = Number(await sqliteScalar(sandbox.database, "SELECT COUNT(*) FROM activities WHERE name = 'writer'"));
    const created = await cli(['backup', 'create', '--json', '--config', sandbox.config]);
    const after = Number(await sqliteScalar(sandbox.database, "SELECT COUNT(*) FROM activities WHERE name = 'writer'"));
    const commits = await writes.stop();
    expect(created.exitCode, created.stderr).toBe(0);
    // Proof that the writes were concurrent: rows committed between the backup's start and end.
    expect(after - before, 'the writer committed while the backup ran').toBeGreaterThan(0);
    expect(commits).toBeGreaterThanOrEqual(after - before);

    const manifest = jsonOf<Manifest>(created);
    const file = join(backupsDir(), manifest.file);
    expect(await integrityCheck(file)).toBe('ok');
    // The manifest tells the truth about the file, as outside tools see it.
    expect(sha256(file)).toBe(manifest.sha256);
    expect(statSync(file).size).toBe(manifest.size);
    expect(Number(await sqliteScalar(file, 'SELECT COUNT(*) FROM activities'))).toBe(manifest.row_counts.activities);
    expect(manifest.quick_check).toBe('ok');
    // Only its owner reads it: it holds every user's data.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(backupsDir(), `${manifest.id}.json`)).mode & 0o777).toBe(0o600);
  });

  it('list shows age, size, rows and whether each verifies; a flipped byte is caught by list and by verify (exit 1)', async () => {
    const labelled = await cli(['backup', 'create', '--label', 'before-flip', '--json', '--config', sandbox.config]);
    expect(labelled.exitCode, labelled.stderr).toBe(0);
    const manifest = jsonOf<Manifest>(labelled);
    expect(manifest.id).toMatch(/^\d{8}T\d{6}\.\d{3}Z-before-flip$/);

    const verified = await cli(['backup', 'verify', manifest.id, '--config', sandbox.config]);
    expect(verified.exitCode, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/sha256: matches the manifest/);
    expect(verified.stdout).toMatch(/quick_check: ok/);

    flipByte(join(backupsDir(), manifest.file));
    const refused = await cli(['backup', 'verify', manifest.id, '--config', sandbox.config]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/sha256: SHA-256 [0-9a-f]{16}…, the manifest says/);
    expect(refused.stdout).toMatch(/does NOT verify/);

    const listed = await cli(['backup', 'list', '--json', '--config', sandbox.config]);
    expect(listed.exitCode).toBe(0);
    const rows = jsonOf<Listed>(listed).backups;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows[0]).toMatchObject({ id: manifest.id, verifies: false });
    expect(rows[0]?.problem).toMatch(/^sha256:/);
    expect(rows.slice(1).every((r) => r.verifies)).toBe(true);
    const table = await cli(['backup', 'list', '--config', sandbox.config]);
    expect(table.stdout).toMatch(new RegExp(`${manifest.id.replace('.', '\\.')}\\s+\\d+ s ago\\s+[\\d.]+ MiB\\s+\\d+\\s+NO: sha256`));
  });

  it('a missing manifest, an edited checksum, an unknown id and a path-like id: one line each, exit 1 or 2, no stack', async () => {
    const a = jsonOf<Manifest>(await cli(['backup', 'create', '--label', 'no-manifest', '--json', '--config', sandbox.config]));
    const b = jsonOf<Manifest>(await cli(['backup', 'create', '--label', 'edited', '--json', '--config', sandbox.config]));
    rmSync(join(backupsDir(), `${a.id}.json`));
    const manifestB = join(backupsDir(), `${b.id}.json`);
    writeFileSync(manifestB, readFileSync(manifestB, 'utf8').replace(b.sha256, '0'.repeat(64)));

    const missing = await cli(['backup', 'verify', a.id, '--config', sandbox.config]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stdout).toMatch(/manifest: no manifest: .*\.json/);
    const edited = await cli(['backup', 'verify', b.id, '--config', sandbox.config]);
    expect(edited.exitCode).toBe(1);
    expect(edited.stdout).toMatch(/the manifest says 0000000000000000…: the file changed since it was taken/);

    const unknown = await cli(['backup', 'verify', '20991231T000000.000Z', '--config', sandbox.config]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim().split('\n')[0]).toMatch(/no backup 20991231T000000\.000Z in .*backups/);
    noStack(unknown.stderr);
    for (const id of ['../../etc/passwd', 'a/b', '..', '.hidden']) {
      const pathLike = await cli(['backup', 'verify', id, '--config', sandbox.config]);
      expect(pathLike.exitCode, id).toBe(2);
      expect(pathLike.stderr, id).toMatch(/not a backup id/);
      noStack(pathLike.stderr);
    }
    const badLabel = await cli(['backup', 'create', '--label', '../x', '--config', sandbox.config]);
    expect(badLabel.exitCode).toBe(2);
    expect(badLabel.stderr).toMatch(/not a usable label/);
  });

  it('a manifest rewritten with a matching checksum but false contents is caught by verify (exit 1), reading the file itself', async () => {
    const made = jsonOf<Manifest & { row_counts: Record<string, number> }>(
      await cli(['backup', 'create', '--label', 'liar', '--json', '--config', sandbox.config]),
    );
    const file = join(backupsDir(), `${made.id}.json`);
    const lie = JSON.parse(readFileSync(file, 'utf8'));
    lie.row_counts.activities += 1000;
    lie.newest_activity = '2099-01-01 00:00:00';
    writeFileSync(file, JSON.stringify(lie));
    const result = await cli(['backup', 'verify', made.id, '--config', sandbox.config]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/sha256: matches the manifest/);
    expect(result.stdout).toMatch(
      /contents: activities: \d+ rows, the manifest says \d+; newest activity .*, the manifest says 2099-01-01/,
    );
    rmSync(join(backupsDir(), `${made.id}.db`));
    rmSync(file);
  });

  it('a backup that cannot finish within --deadline gives up: one line, exit 1, no partial file left', async () => {
    const before = readdirSync(backupsDir());
    const result = await cli(['backup', 'create', '--deadline', '1ms', '--config', sandbox.config]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')[0]).toMatch(/the backup did not finish within 1 ms/);
    noStack(result.stderr);
    expect(readdirSync(backupsDir())).toEqual(before);
  });

  it('prune --keep N: --dry-run removes nothing; then the newest N stay, and the rest go', async () => {
    const before = jsonOf<Listed>(await cli(['backup', 'list', '--json', '--config', sandbox.config])).backups;
    const complete = before.filter((b) => b.size !== null);
    expect(complete.length).toBeGreaterThan(2);

    const dry = await cli(['backup', 'prune', '--keep', '2', '--dry-run', '--config', sandbox.config]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would remove/);
    expect(jsonOf<Listed>(await cli(['backup', 'list', '--json', '--config', sandbox.config])).backups).toHaveLength(before.length);

    const pruned = await cli(['backup', 'prune', '--keep', '2', '--config', sandbox.config]);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    const after = jsonOf<Listed>(await cli(['backup', 'list', '--json', '--config', sandbox.config])).backups;
    const kept = after.filter((b) => b.size !== null).map((b) => b.id);
    expect(kept).toEqual(complete.slice(0, 2).map((b) => b.id));
    // One whose manifest is gone is not ours to judge: left alone, and said.
    expect(pruned.stdout).toMatch(/left alone: .*-no-manifest/);

    for (const keep of ['0', '-1', 'two']) {
      const bad = await cli(['backup', 'prune', '--keep', keep, '--config', sandbox.config]);
      expect(bad.exitCode, keep).toBe(2);
    }
  });

  it.skipIf(!canMountTmpfs())('not enough disk (backups.dir on a 1 MiB tmpfs): one line, exit 1, and no partial file', async () => {
    const mountPoint = join(sandbox.dir, 'small-disk');
    const disk = mountTmpfs(mountPoint, '1m');
    expect(disk).toBeDefined();
    try {
      const config = join(sandbox.dir, 'small-disk.yaml');
      copyFileSync(sandbox.config, config);
      writeFileSync(config, readFileSync(config, 'utf8').replace('  dir: ./backups', `  dir: ${mountPoint}`));
      const result = await cli(['backup', 'create', '--config', config]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr.trim().split('\n')[0]).toMatch(
        /not enough disk for the backup: .*small-disk has [\d.]+ MiB free, the database needs about [\d.]+ MiB/,
      );
      noStack(result.stderr);
      expect(await sqliteScalar(sandbox.database, 'SELECT 1')).toBe('1');
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      disk?.unmount();
    }
  });
});

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

const scratch = mkdtempSync(join(tmpdir(), 'trimp-fs-'));
chmodSync(scratch, 0o755);
// Nothing listens on port 9: the run never gets that far; the state directory fails first.
const target = ['--base-url', 'http://127.0.0.1:9', '--yes'];
const env = { TRIMP_ADMIN_TOKEN: 'file-system-test-token' };
const isRoot = process.getuid?.() === 0;

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** One line naming the path and what to do, the documented exit code, no stack, no lock left. */
function expectFsError(
  result: { exitCode: number | undefined; stderr: string },
  exitCode: number,
  pattern: RegExp,
  stateDir?: string,
): void {
  expect(result.exitCode, result.stderr).toBe(exitCode);
  const lines = result.stderr.trim().split('\n');
  expect(lines.at(-1)).toMatch(pattern);
  expect(lines.at(-1)).toMatch(/ — /); // a remedy follows
  expect(result.stderr).not.toMatch(/internal error|\bat .+:\d+:\d+/);
  if (stateDir && existsSync(stateDir) && statSync(stateDir).isDirectory()) expect(readdirSync(stateDir)).not.toContain('lock.json');
}

describe('a state directory that cannot be used', () => {
  it('ENOTDIR: a part of the path is a file', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    expectFsError(
      await cli(['flag', '--all', ...target, '--state-dir', join(file, 'state')], { env }),
      2,
      /a-file\/state: a part of the path is a file, not a directory \(ENOTDIR\)/,
    );
  });

  it('EEXIST: the state directory is a file', async () => {
    const file = join(scratch, 'state-file');
    writeFileSync(file, '');
    expectFsError(
      await cli(['flag', '--all', ...target, '--state-dir', file], { env }),
      2,
      /state-file: already exists and is in the way \(EEXIST\)/,
    );
  });

  it('ENAMETOOLONG: a name longer than the file system allows', async () => {
    const long = join(scratch, 'x'.repeat(300));
    expectFsError(
      await cli(['flag', '--all', ...target, '--state-dir', long], { env }),
      2,
      /the path is too long \(ENAMETOOLONG\) — choose a shorter path/,
    );
  });

  it.skipIf(!isRoot)('EROFS: a read-only file system (a tmpfs the test mounts read-only)', async () => {
    const mount = join(scratch, 'ro');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', mount]);
    try {
      expectFsError(
        await cli(['flag', '--all', ...target, '--state-dir', join(mount, 'state')], { env }),
        2,
        /ro\/state: read-only file system \(EROFS\) — choose a writable directory/,
      );
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  it.skipIf(!isRoot)('EACCES: another user cannot write the state directory (run as nobody)', async () => {
    const state = join(scratch, 'root-only');
    mkdirSync(state, { mode: 0o700 });
    const result = await execa('runuser', ['-u', 'nobody', '--', process.execPath, BIN, 'flag', '--all', ...target, '--state-dir', state], {
      reject: false,
      env: { ...env, NO_COLOR: '1', HOME: '/tmp' },
      cwd: '/tmp',
    });
    expectFsError(
      { exitCode: result.exitCode, stderr: String(result.stderr) },
      2,
      /root-only.*: permission denied \(EACCES\) — fix its permissions, or choose another directory/,
    );
  });

  it('ENOENT for --junit: the directory does not exist', async () => {
    const result = await cli([
      'validate',
      '--checks',
      'trimp-reference',
      '--junit',
      join(scratch, 'no', 'such', 'out.xml'),
      '--state-dir',
      join(scratch, 's'),
    ]);
    expectFsError(result, 2, /the JUnit file could not be written: .*no\/such\/out\.xml: no such file or directory \(ENOENT\)/);
  });
});

describe('permissions', () => {
  let sandbox: TestSandbox;
  beforeAll(async () => {
    sandbox = await startTestSandbox('trimp-perms-');
  });
  afterAll(async () => {
    await sandbox?.remove();
  });

  it('warns when the token file is readable by others or the state directory writable by others; reports are 0600', async () => {
    chmodSync(sandbox.tokenFile, 0o644);
    mkdirSync(sandbox.stateDir, { recursive: true });
    chmodSync(sandbox.stateDir, 0o777);
    try {
      const result = await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(`warning: the admin token file ${sandbox.tokenFile} can be read by other users \\(mode 644\\): chmod 600`),
      );
      expect(result.stderr).toMatch(
        new RegExp(`warning: the state directory ${sandbox.stateDir} can be written by other users \\(mode 777\\): chmod 700`),
      );
      const runs = readdirSync(join(sandbox.stateDir, 'runs'));
      for (const file of ['journal.jsonl', 'report.json', 'report.md'])
        expect(statSync(join(sandbox.stateDir, 'runs', runs.at(-1) as string, file)).mode & 0o777, file).toBe(0o600);
    } finally {
      chmodSync(sandbox.tokenFile, 0o600);
      chmodSync(sandbox.stateDir, 0o700);
    }
  });
});

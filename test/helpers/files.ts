import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { execa } from 'execa';

/** PRAGMA integrity_check through the sqlite3 CLI: an outside opinion, not our own code. */
export async function integrityCheck(path: string): Promise<string> {
  const result = await execa('sqlite3', [path, 'PRAGMA integrity_check;'], { reject: false });
  return `${result.stdout}${result.stderr}`.trim();
}

export async function sqliteScalar(path: string, sql: string): Promise<string> {
  const result = await execa('sqlite3', [path, sql], { reject: false });
  if (result.exitCode !== 0) throw new Error(`sqlite3 ${path}: ${result.stderr}`);
  return String(result.stdout).trim();
}

/** Inverts one byte in the middle of a file: damage that keeps its size. */
export function flipByte(path: string, at: 'middle' | number = 'middle'): void {
  const fd = openSync(path, 'r+');
  try {
    const size = Number(execFileSync('stat', ['-c', '%s', path], { encoding: 'utf8' }).trim());
    const offset = at === 'middle' ? Math.floor(size / 2) : at;
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** A small tmpfs (root only): how these tests run out of disk for real. Undefined where mounting is not allowed. */
export function mountTmpfs(path: string, size: string): { unmount(): void } | undefined {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return {
    unmount() {
      execFileSync('umount', ['-l', path], { stdio: 'ignore' });
      rmSync(path, { recursive: true, force: true });
    },
  };
}

export function canMountTmpfs(): boolean {
  const probe = `/tmp/trimp-mount-probe-${process.pid}`;
  const mounted = mountTmpfs(probe, '64k');
  mounted?.unmount();
  rmSync(probe, { recursive: true, force: true });
  return mounted !== undefined;
}

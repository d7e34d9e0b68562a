import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withoutSecrets } from '../config/secret.js';

/**
 * The app directory is a git checkout, as in production: each release is a commit whose
 * `app.json` names its version (and, for the bad-deploy fault, its defect).
 */
export interface Release {
  version: string;
  /** 1.0.0 has only the average method; the enhanced (stream) method came with 1.1.0. Unsaid: it has it. */
  enhanced_trimp?: boolean;
  /** The database schema (user_version) the release expects. */
  schema?: number;
  defect?: 'health' | 'trimp';
}

/** The releases a new sandbox's app checkout starts with, oldest first; it runs the last. */
export const INITIAL_RELEASES: Release[] = [
  { version: '1.0.0', enhanced_trimp: false, schema: 1 },
  { version: '1.1.0', enhanced_trimp: true, schema: 1 },
];

const git = (appDir: string, ...args: string[]) =>
  execFileSync('git', ['-C', appDir, '-c', 'user.name=trimp-sandbox', '-c', 'user.email=sandbox@trimp.invalid', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: withoutSecrets(process.env), // git and its hooks get no admin token
  }).trim();

export function initAppRepo(appDir: string): void {
  if (existsSync(join(appDir, '.git'))) return;
  git(appDir, 'init', '-q', '-b', 'main');
  writeFileSync(join(appDir, '.gitignore'), 'logs/\n');
  for (const release of INITIAL_RELEASES)
    commitRelease(appDir, release, `release ${release.version}${release.enhanced_trimp ? ' (enhanced TRIMP)' : ' (average TRIMP only)'}`);
}

export function commitRelease(appDir: string, release: Release, message: string): string {
  writeFileSync(join(appDir, 'app.json'), `${JSON.stringify(release, null, 2)}\n`);
  git(appDir, 'add', '-A');
  git(appDir, 'commit', '-q', '-m', message);
  return headCommit(appDir);
}

export function headCommit(appDir: string): string {
  return git(appDir, 'rev-parse', 'HEAD');
}

export function checkoutCommit(appDir: string, commit: string): void {
  git(appDir, 'reset', '-q', '--hard', commit);
}

/** What the app runs: its release file and the commit it is at. */
export function currentRelease(appDir: string): Release & { commit: string | undefined } {
  let release: Release = { version: 'unknown' };
  try {
    release = JSON.parse(readFileSync(join(appDir, 'app.json'), 'utf8')) as Release;
  } catch {
    // No release file: an app directory that is not ours.
  }
  let commit: string | undefined;
  try {
    commit = headCommit(appDir).slice(0, 12);
  } catch {
    commit = undefined;
  }
  return { ...release, commit };
}

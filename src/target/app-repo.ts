import { withoutSecrets } from '../config/secret.js';
import { TrimpError } from '../errors.js';

/**
 * The app directory as a git checkout. git runs with an argument array (never a shell string
 * built from input), without the admin token in its environment, with a timeout.
 */
async function git(appDir: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  // Loaded when git is first needed: execa costs ~100 ms of start-up that a flag rollback does not need.
  const { execa } = await import('execa');
  const result = await execa('git', ['-C', appDir, ...args], {
    reject: false,
    env: withoutSecrets(process.env),
    extendEnv: false,
    timeout: 30_000,
  });
  return { ok: result.exitCode === 0, stdout: String(result.stdout).trim(), stderr: String(result.stderr).trim() };
}

/** The commit the app directory is at, when it is a git checkout (null otherwise). */
export async function appCommit(appDir: string): Promise<string | null> {
  const result = await git(appDir, ['rev-parse', 'HEAD']);
  return result.ok && /^[0-9a-f]{40,64}$/.test(result.stdout) ? result.stdout : null;
}

/** A ref (a hash, a tag, HEAD~1) as a full commit hash; undefined when git does not know it. */
export async function resolveCommit(appDir: string, ref: string): Promise<string | undefined> {
  if (ref.startsWith('-')) return undefined; // never an option to git
  const result = await git(appDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return result.ok && /^[0-9a-f]{40,64}$/.test(result.stdout) ? result.stdout : undefined;
}

/** Uncommitted changes, as `git diff --stat` says them (empty when the tree is clean). */
export async function dirtyTree(appDir: string): Promise<string[]> {
  const status = await git(appDir, ['status', '--porcelain', '--untracked-files=no']);
  if (!status.ok)
    throw new TrimpError('app-repo', `${appDir} is not a git checkout (${status.stderr.split('\n')[0]})`, {
      remedy: 'check target.app_dir',
    });
  return status.stdout ? status.stdout.split('\n') : [];
}

export async function diffStat(appDir: string): Promise<string> {
  return (await git(appDir, ['diff', '--stat', 'HEAD'])).stdout;
}

/** One line per commit in `from..to` (newest first): what a rollback from `to` to `from` undoes. */
export async function commitsBetween(appDir: string, from: string, to: string): Promise<string[]> {
  const result = await git(appDir, ['log', '--format=%h %s', `${from}..${to}`]);
  return result.ok && result.stdout ? result.stdout.split('\n') : [];
}

/** A file as it is in a commit (the release file), or undefined. */
export async function fileAt(appDir: string, commit: string, path: string): Promise<string | undefined> {
  const result = await git(appDir, ['show', `${commit}:${path}`]);
  return result.ok ? result.stdout : undefined;
}

/**
 * Why `git checkout` of `to` would fail in this work tree (a local change or an untracked file it
 * would overwrite), found without changing anything (`git read-tree -n`); undefined when it would work.
 */
export async function checkoutProblem(appDir: string, to: string): Promise<string | undefined> {
  const result = await git(appDir, ['read-tree', '-n', '-m', '-u', 'HEAD', to]);
  if (result.ok) return undefined;
  return result.stderr
    .split('\n')
    .map((line) => line.replace(/^error: /, '').trim())
    .filter(Boolean)
    .slice(0, 5)
    .join('; ');
}

/** Whether `older` is an ancestor of `newer` (deploying `newer` over `older` rolls forward). */
export async function isAncestor(appDir: string, older: string, newer: string): Promise<boolean> {
  return (await git(appDir, ['merge-base', '--is-ancestor', older, newer])).ok;
}

/** Checks out a commit (detached): the work tree becomes that release. */
export async function checkoutCommit(appDir: string, commit: string): Promise<void> {
  const result = await git(appDir, ['checkout', '--quiet', '--detach', commit]);
  if (!result.ok)
    throw new TrimpError(
      'app-checkout',
      `git checkout of ${commit.slice(0, 12)} failed: ${result.stderr.split('\n').slice(0, 4).join(' ')}`,
    );
}

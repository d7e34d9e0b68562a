import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { redactText } from '../config/secret.js';
import { ensureDirectory } from '../engine/files.js';
import { fileAt } from './app-repo.js';

/** One deployment the tool made: what ran before, what runs after, who, why, in which run. */
export interface Deployment {
  run_id: string;
  at: string;
  operator: string;
  reason: string | null;
  app_dir: string;
  from_commit: string;
  to_commit: string;
  from_version: string | null;
  to_version: string | null;
}

export function deploysPath(stateDir: string): string {
  return join(stateDir, 'deploys.jsonl');
}

/** Every deployment recorded, oldest first; a line that does not parse (a torn write) is skipped. */
export function readDeployments(stateDir: string): Deployment[] {
  let text: string;
  try {
    text = readFileSync(deploysPath(stateDir), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Partial<Deployment>;
      return typeof entry.from_commit === 'string' && typeof entry.to_commit === 'string' ? [entry as Deployment] : [];
    } catch {
      return [];
    }
  });
}

/** One whole line, appended and fsynced (mode 0600), before the deploy is reported done. */
export function recordDeployment(stateDir: string, deployment: Deployment): void {
  ensureDirectory(stateDir);
  const fd = openSync(deploysPath(stateDir), 'a', 0o600);
  try {
    writeSync(fd, `${redactText(JSON.stringify(deployment))}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The commit that ran before `current` in this app directory, by the tool's own record. */
export function commitBefore(deployments: Deployment[], appDir: string, current: string): string | undefined {
  return deployments.filter((d) => d.app_dir === appDir && d.to_commit === current).at(-1)?.from_commit;
}

/** What a release says about itself (its `app.json` at that commit): version, expected schema. */
export interface ReleaseInfo {
  version: string | null;
  schema: number | null;
  /** false: the release predates the enhanced method (it computes the average whatever the flag says). */
  enhanced_trimp: boolean | null;
}

export async function releaseAt(appDir: string, commit: string): Promise<ReleaseInfo> {
  return releaseOf(await fileAt(appDir, commit, 'app.json'));
}

/** What the release checked out now says about itself (its working tree's `app.json`). */
export function checkedOutRelease(appDir: string): ReleaseInfo {
  try {
    return releaseOf(readFileSync(join(appDir, 'app.json'), 'utf8'));
  } catch {
    return releaseOf(undefined);
  }
}

function releaseOf(text: string | undefined): ReleaseInfo {
  try {
    const parsed = JSON.parse(text ?? '') as { version?: unknown; schema?: unknown; enhanced_trimp?: unknown };
    return {
      version: typeof parsed.version === 'string' ? parsed.version : null,
      schema: Number.isInteger(parsed.schema) ? (parsed.schema as number) : null,
      enhanced_trimp: typeof parsed.enhanced_trimp === 'boolean' ? parsed.enhanced_trimp : null,
    };
  } catch {
    return { version: null, schema: null, enhanced_trimp: null };
  }
}

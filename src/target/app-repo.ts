import { execa } from 'execa';
import { withoutSecrets } from '../config/secret.js';

/** The commit the app directory is at, when it is a git checkout (null otherwise). */
export async function appCommit(appDir: string): Promise<string | null> {
  const result = await execa('git', ['-C', appDir, 'rev-parse', 'HEAD'], {
    reject: false,
    env: withoutSecrets(process.env),
    extendEnv: false,
    timeout: 10_000,
  });
  return result.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(result.stdout.trim()) ? result.stdout.trim() : null;
}

import type { Config } from '../config/config.js';
import { usageError } from '../errors.js';

/** The database and application rollbacks stop and start the app: without target.app a real run would stop halfway. */
export function needsAppControl(config: Config, scenario: string): void {
  if (config.target.app) return;
  throw usageError(
    'app-not-configured',
    `the ${scenario} rollback stops and starts the app, but ${config.file ?? 'the config'} has no target.app`,
    'add target.app: { start: [argv...], pid_file: FILE } (see the README); --dry-run shows the plan without it',
  );
}

import { existsSync } from 'node:fs';
import { type Config, loadConfig, withTokenFile } from '../config/config.js';
import type { JournaledTarget } from '../engine/journal-events.js';
import { usageError } from '../errors.js';
import type { RunRecord } from './run-history.js';
import type { RunCommandOptions } from './run-runbook.js';

export interface TargetChoice {
  config: Config;
  via: 'api' | 'db';
  /** Set when the operator moved the run to another target (--retarget --reason). */
  retargeted?: { from: JournaledTarget; reason: string };
  /** Differences that came from the environment or a config file, not the command line: ignored, and said. */
  notes: string[];
}

/**
 * `resume` and `flag restore` act on the system the earlier run acted on (its journaled base
 * URL, database, app and logs directories, and --via), not on whatever today's environment or
 * ./trimp-rollback.yaml points at. A different target named on the command line is refused
 * unless the operator says --retarget --reason, which is journaled.
 */
export function configForRun(run: RunRecord, options: RunCommandOptions, command: string): TargetChoice {
  const ownConfig = run.started.config_file;
  // The run's own config file, if it had one; never the ./trimp-rollback.yaml of wherever the
  // operator happens to stand now.
  const config = options.config
    ? loadConfig(options)
    : ownConfig && existsSync(ownConfig)
      ? loadConfig({ ...options, config: ownConfig })
      : loadConfig({ ...options, ignoreLocalConfig: true });
  const named = (source: string) => source === 'flag' || (options.config !== undefined && source === 'file');
  const via = (options.via ?? run.via) === 'db' ? 'db' : 'api';
  const differences: string[] = [];
  const notes: string[] = [];
  const compare = (label: string, now: string, then: string, source: string) => {
    if (now === then) return;
    if (named(source)) differences.push(`${label} ${now} (the run's: ${then})`);
    else if (source === 'env') notes.push(`the environment names ${label} ${now}; using the run's own, ${then}`);
  };
  compare('app', config.target.baseUrl, run.target.base_url, config.sources.baseUrl);
  compare('database', config.target.database, run.target.database, config.sources.database);
  if (options.via && options.via !== run.via) differences.push(`--via ${options.via} (the run's: --via ${run.via})`);
  // Another profile is another app's contract (login, flags, where figures come from): never silently.
  const profile = run.target.profile ?? 'seed';
  if (config.target.profile !== profile)
    differences.push(`target.profile ${config.target.profile} (the run's: ${profile}; its config file ${ownConfig ?? 'is unknown'})`);

  if (differences.length > 0) {
    if (!options.retarget) {
      throw usageError(
        'target-differs',
        `${command} acts on the target of run ${run.id}, but the command line names ${differences.join(' and ')}`,
        'drop those options, or move the run to the new target with --retarget --reason "why"',
      );
    }
    if (!options.reason)
      throw usageError('reason-required', '--retarget needs --reason "why"', 'the reason is journaled with the new target');
    return { config, via, retargeted: { from: run.target, reason: options.reason }, notes };
  }
  const target = {
    ...config.target,
    baseUrl: run.target.base_url,
    // The run's instances: a resume restarts and verifies the ones it began with.
    instances: run.target.instances ?? [run.target.base_url],
    database: run.target.database,
    appDir: run.target.app_dir ?? config.target.appDir,
    logsDir: run.target.logs_dir ?? config.target.logsDir,
  };
  return { config: withTokenFile({ ...config, target }, run.target.token_file), via, notes };
}

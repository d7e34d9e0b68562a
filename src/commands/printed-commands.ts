import type { Config } from '../config/config.js';
import type { Invocation } from '../engine/journal-events.js';

/**
 * Commands the tool prints for the operator to run next (resume, undo). They repeat everything
 * the original command got from its command line or environment (config, state directory,
 * token file, target, --via, --yes), quoted for a POSIX shell, so they work when pasted into a
 * new terminal.
 */
export function invocationOf(config: Config, options: { via?: string; yes?: boolean }): Invocation {
  const given = (from: string) => from === 'flag' || from === 'env';
  return {
    config: config.file ?? null,
    state_dir: config.sources.stateDir === 'file' ? null : config.stateDir,
    token_file: given(config.sources.token) ? (config.sources.tokenFile ?? null) : null,
    base_url: given(config.sources.baseUrl) ? config.target.baseUrl : null,
    database: given(config.sources.database) ? config.target.database : null,
    via: options.via ?? 'api',
    yes: options.yes ?? false,
  };
}

export function resumeCommand(runId: string, invocation: Invocation): string {
  return commandLine(['trimp-rollback', 'resume', runId, ...targetArgs(invocation)]);
}

export function restoreCommand(runId: string, invocation: Invocation): string {
  return commandLine(['trimp-rollback', 'flag', 'restore', '--run', runId, ...targetArgs(invocation)]);
}

export function databaseUndoCommand(runId: string, invocation: Invocation): string {
  return commandLine(['trimp-rollback', 'database', 'undo', '--run', runId, ...targetArgs(invocation)]);
}

export function applicationUndoCommand(runId: string, invocation: Invocation): string {
  return commandLine(['trimp-rollback', 'application', 'undo', '--run', runId, ...targetArgs(invocation)]);
}

/** Back to the release that was running before a rollback that did not come up healthy. */
export function applicationToCommand(commit: string, invocation: Invocation): string {
  return commandLine(['trimp-rollback', 'application', '--to', commit, ...targetArgs(invocation)]);
}

/** The options that point a printed command at the same target the original one acted on. */
export function targetArgs(invocation: Invocation): string[] {
  const args: string[] = [];
  if (invocation.config) args.push('--config', invocation.config);
  if (invocation.state_dir) args.push('--state-dir', invocation.state_dir);
  if (invocation.token_file) args.push('--token-file', invocation.token_file);
  if (invocation.base_url) args.push('--base-url', invocation.base_url);
  if (invocation.database) args.push('--database', invocation.database);
  if (invocation.via === 'db') args.push('--via', 'db');
  if (invocation.yes) args.push('--yes');
  return args;
}

export function commandLine(words: string[]): string {
  return words.map(shellQuote).join(' ');
}

/** A word as a POSIX shell reads it back unchanged. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

import { usageError } from '../errors.js';
import { sandboxStatus, startSandbox, stopSandbox } from '../sandbox/control.js';
import type { CommandResult } from './run-runbook.js';

export interface SandboxOptions {
  dir: string;
  port?: string;
  json?: boolean;
  users?: string;
  activities?: string;
}

export async function sandboxStart(options: SandboxOptions): Promise<CommandResult> {
  const port = options.port === undefined ? 0 : integer('--port', options.port, 0, 65535);
  const seed = {
    ...(options.users ? { users: integer('--users', options.users, 4, 1_000_000) } : {}),
    ...(options.activities ? { activities: integer('--activities', options.activities, 0, 100_000_000) } : {}),
  };
  const info = await startSandbox(options.dir, { port, seed });
  if (options.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  else {
    process.stdout.write(
      [
        `sandbox running at ${info.base_url} (pid ${info.pid})`,
        `  config:   ${info.config}`,
        `  database: ${info.database}`,
        `  token:    ${info.token_file}`,
        `  logs:     ${info.logs_dir}`,
        `try: trimp-rollback flag --all --dry-run --config ${info.config}`,
        '',
      ].join('\n'),
    );
  }
  return { exitCode: 0 };
}

export async function sandboxStop(options: SandboxOptions): Promise<CommandResult> {
  const result = await stopSandbox(options.dir);
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      result.stopped ? `sandbox stopped (pid ${result.pid}${result.forced ? ', killed after 5 s' : ''})\n` : 'no sandbox was running\n',
    );
  return { exitCode: 0 };
}

export async function sandboxStatusCommand(options: SandboxOptions): Promise<CommandResult> {
  const status = sandboxStatus(options.dir);
  if (options.json) process.stdout.write(`${JSON.stringify(status)}\n`);
  else process.stdout.write(status.running ? `running at ${status.base_url} (pid ${status.pid})\n` : `not running (${status.dir})\n`);
  return { exitCode: status.running ? 0 : 1 };
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw usageError('sandbox-usage', `${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  return value;
}

import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const BIN = fileURLToPath(new URL('../../bin/trimp-rollback.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would: a real process, no terminal, stdin closed. */
export async function cli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: '1', ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
  return { exitCode: result.exitCode, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Starts the CLI without waiting, for tests that signal it or race it. */
export function spawnCli(args: string[], options: { env?: Record<string, string | undefined> } = {}): ResultPromise {
  return execa(process.execPath, [BIN, ...args], { reject: false, stdin: 'ignore', cwd: ROOT, env: { NO_COLOR: '1', ...options.env } });
}

export function jsonOf<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${result.stdout}\n--- stderr:\n${result.stderr}`);
  }
}

/** A run's result as `--json` prints it: the parts the scenario tests read. */
export interface RunStep {
  id: string;
  status: string;
  summary: string;
  operations?: string[];
  blast_radius?: string[];
  evidence?: Record<string, unknown>;
  warnings?: string[];
}
export interface RunJson {
  run_id: string;
  started_at: string;
  status: string;
  journal: string | null;
  undo_command: string | null;
  steps: RunStep[];
}

export function stepOf(run: RunJson, id: string): RunStep {
  const step = run.steps.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id} in run ${run.run_id}`);
  return step;
}

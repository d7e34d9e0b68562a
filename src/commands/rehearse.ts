import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { formatMs } from '../report/format.js';
import { startSandbox, stopSandbox } from '../sandbox/control.js';
import { type CommandResult, runRunbook } from './run-runbook.js';

/** The scenarios a rehearsal can run today, with the inputs a rehearsal gives them. */
const REHEARSALS: Record<string, Record<string, unknown>> = {
  flag: { states: { admin: false, beta: false, regular: false } },
};
const PLANNED = ['gradual', 'application', 'database'];

export interface RehearseOptions {
  json?: boolean;
  color?: boolean;
  keep?: boolean;
}

/**
 * `trimp-rollback rehearse [flag]`: a throwaway sandbox, the scenario run for real with --yes,
 * the time against the seed's budget, then everything torn down.
 */
export async function rehearseCommand(scenario: string | undefined, options: RehearseOptions): Promise<CommandResult> {
  const name = scenario ?? 'flag';
  if (PLANNED.includes(name))
    throw usageError(
      'rehearse-unavailable',
      `scenario "${name}" cannot be rehearsed yet; available: ${Object.keys(REHEARSALS).join(', ')}`,
    );
  const inputs = REHEARSALS[name];
  if (!inputs) throw usageError('rehearse-unknown', `unknown scenario "${name}"; available: ${Object.keys(REHEARSALS).join(', ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'trimp-rehearsal-'));
  process.stderr.write(`Starting a sandbox in ${dir} ...\n`);
  try {
    const sandbox = await startSandbox(dir);
    process.stderr.write(`Sandbox at ${sandbox.base_url} (pid ${sandbox.pid}); rehearsing "${name}" for real with --yes.\n`);
    const { result, command } = await runRunbook({
      runbook: name,
      inputs,
      options: {
        config: sandbox.config,
        yes: true,
        reason: `rehearsal of ${name}`,
        json: options.json ?? false,
        color: options.color ?? true,
      },
      print: !options.json,
      footer: () => [
        options.keep ? `The sandbox stays in ${dir}.` : 'The sandbox, its database and this journal are removed now (--keep keeps them).',
      ],
    });
    const verdict = {
      scenario: name,
      status: result.status,
      duration_ms: result.duration_ms,
      budget_ms: result.budget_ms,
      within_budget: result.within_budget,
      run: result,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
    else {
      const budget = result.within_budget ? 'within' : 'OVER';
      process.stdout.write(
        `Rehearsal of "${name}": ${result.status} in ${formatMs(result.duration_ms)}, ${budget} the seed's budget of ${formatMs(result.budget_ms)}.\n`,
      );
    }
    return command;
  } finally {
    await stopSandbox(dir);
    if (options.keep) process.stderr.write(`Kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

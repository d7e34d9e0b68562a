import { loadConfig } from '../config/config.js';
import { usageError } from '../errors.js';
import { loadRunbook } from '../runbook/load.js';
import { type CommandResult, type RunCommandOptions, runRunbook } from './run-runbook.js';
import { scenarioReporting } from './scenario-reporting.js';

/** `trimp-rollback run RUNBOOK --input name=value ...`: any runbook, built in or a file. */
export async function runCommand(runbook: string, options: RunCommandOptions & { input?: string[] }): Promise<CommandResult> {
  const inputs = parseInputs(options.input ?? []);
  const config = loadConfig(options);
  // A built-in scenario's runbook gets that scenario's Undo line and notes, however it is started.
  const reporting = await scenarioReporting(loadRunbook(runbook).id, config, inputs);
  const { command } = await runRunbook({ runbook, inputs, options, config, ...reporting });
  return command;
}

/** `name=value`; the value is read as JSON when it parses (true, 3, {"admin":false}), else as text. */
export function parseInputs(pairs: string[]): Record<string, unknown> {
  // Own properties only (`__proto__=1` is a name like any other, and an unknown one).
  const entries: [string, unknown][] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError('input-syntax', `--input expects name=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Plain text.
    }
    entries.push([pair.slice(0, eq), value]);
  }
  return Object.fromEntries(entries);
}

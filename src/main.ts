import { CommanderError } from 'commander';
import { createProgram } from './cli.js';
import type { CommandResult } from './commands/run-runbook.js';
import { ExitCode, isTrimpError } from './errors.js';

/**
 * Parse, run, map errors to exit codes. The only place that decides how the process ends: it
 * sets `process.exitCode` (a large --json document on a pipe survives) or, after an
 * interruption, ends by SIGINT so that a calling shell stops as well.
 */
export async function main(argv: string[]): Promise<void> {
  const outcome = await run(argv);
  if (outcome.interrupted) {
    // End by the signal itself (shells see 130 for Ctrl-C) so that a calling loop stops too.
    const { interruptingSignal } = await import('./engine/interrupt.js');
    const signal = interruptingSignal();
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exitCode = outcome.exitCode;
}

async function run(argv: string[]): Promise<CommandResult> {
  let result: CommandResult = { exitCode: ExitCode.ok };
  const program = createProgram((r) => {
    result = r;
  });
  program.exitOverride();
  program.configureOutput({ outputError: (text, write) => write(`trimp-rollback: ${text.replace(/^error: /, '').trim()} (see --help)\n`) });
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  try {
    await program.parseAsync(argv);
    return result;
  } catch (error) {
    if (error instanceof CommanderError) {
      const quiet = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      return { exitCode: quiet ? ExitCode.ok : ExitCode.usage };
    }
    if (isTrimpError(error)) {
      const line = error.remedy ? `${error.message} — ${error.remedy}` : error.message;
      process.stderr.write(`trimp-rollback: ${line}\n`);
      if (argv.includes('--json')) {
        process.stdout.write(
          `${JSON.stringify({ error: { code: error.code, message: error.message, remedy: error.remedy ?? null }, exit_code: error.exitCode })}\n`,
        );
      }
      return { exitCode: error.exitCode };
    }
    process.stderr.write(
      `trimp-rollback: internal error (this is a bug, please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return { exitCode: ExitCode.failed };
  }
}

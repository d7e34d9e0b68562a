import { type Command, CommanderError } from 'commander';
import { createProgram } from './cli.js';
import type { CommandResult } from './commands/run-runbook.js';
import { ExitCode, fileSystemError, isFileSystemError, isTrimpError, type TrimpError } from './errors.js';
import { guardStdStreams, toJson } from './report/output.js';
import { commandPath, unknownSubcommand } from './usage.js';

/**
 * Parse, run, map errors to exit codes. The only place that decides how the process ends: it
 * sets `process.exitCode` (a large --json document on a pipe survives) or, after an
 * interruption, ends by SIGINT so that a calling shell stops as well.
 */
export async function main(argv: string[]): Promise<void> {
  // Before anything is written: secrets are redacted and a closed pipe is survived from here on.
  guardStdStreams();
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
  const help = `${commandPath(program, argv.slice(2))} --help`;
  const each = (command: Command): void => {
    command.exitOverride();
    command.configureOutput({ outputError: (text, write) => write(`trimp-rollback: ${oneLine(text)} — see ${help}\n`) });
    for (const sub of command.commands) each(sub);
  };
  each(program);
  // The completion scripts' callback: its words are a command line being typed, not options for it.
  if (argv[2] === '__complete') return (await import('./commands/completion.js')).printCandidates(program, argv.slice(3));
  try {
    const typo = unknownSubcommand(program, argv.slice(2));
    if (typo) throw typo;
    await program.parseAsync(argv);
    return result;
  } catch (error) {
    if (error instanceof CommanderError) {
      const quiet = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
      // --json promises one document on stdout, usage errors included.
      if (!quiet && argv.includes('--json'))
        process.stdout.write(
          `${toJson({ error: { code: error.code, message: oneLine(error.message), remedy: null }, exit_code: ExitCode.usage }, 0)}\n`,
        );
      return { exitCode: quiet ? ExitCode.ok : ExitCode.usage };
    }
    if (isTrimpError(error)) return report(error, argv);
    if (isFileSystemError(error)) return report(fileSystemError(error, 'a file could not be used'), argv);
    process.stderr.write(
      `trimp-rollback: internal error (this is a bug, please report it):\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return { exitCode: ExitCode.failed };
  }
}

function report(error: TrimpError, argv: string[]): CommandResult {
  const line = error.remedy ? `${error.message} — ${error.remedy}` : error.message;
  process.stderr.write(`trimp-rollback: ${printable(line)}\n`);
  if (argv.includes('--json')) {
    process.stdout.write(
      `${toJson({ error: { code: error.code, message: error.message, remedy: error.remedy ?? null }, exit_code: error.exitCode }, 0)}\n`,
    );
  }
  return { exitCode: error.exitCode };
}

/**
 * A message stays one line on the terminal: a control character it quotes from the command line
 * or a file (a newline in an argument, an escape sequence) is shown escaped, not obeyed.
 */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/**
 * Commander's errors in the tool's own style: one line, with what to do. Its "(Did you mean
 * --x?)" suggestion stays on the same line.
 */
function oneLine(text: string): string {
  const lines = text
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.join(' ');
}

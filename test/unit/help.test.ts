import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli.js';

const program = createProgram(() => {});
const all = (command: Command): Command[] => command.commands.flatMap((sub) => [sub, ...all(sub)]);
const pathOf = (command: Command): string => (command.parent ? `${pathOf(command.parent)} ${command.name()}` : command.name());
const helpOf = (command: Command) => command.helpInformation() + ((command as unknown as { _helpTextAfter?: string })._helpTextAfter ?? '');

/** What `--help` shows, with the text added after it (examples, settings, exit codes). */
function fullHelp(command: Command): string {
  let out = '';
  command.configureOutput({ writeOut: (text) => (out += text), writeErr: (text) => (out += text) });
  command.exitOverride();
  try {
    command.outputHelp();
  } finally {
    command.configureOutput({});
  }
  return out || helpOf(command);
}

describe('help that helps', () => {
  it('every command and subcommand has a one-line description in the same style', () => {
    for (const command of all(program)) {
      const description = command.description();
      expect(description, pathOf(command)).toMatch(/^[A-Z].*\.$/);
      expect(description, pathOf(command)).not.toMatch(/\n/);
      expect(description.length, pathOf(command)).toBeLessThanOrEqual(140);
    }
  });

  it('--json is described the same way everywhere, and required options say so', () => {
    for (const command of all(program)) {
      for (const option of command.options) {
        if (option.long === '--json' && command.name() !== 'trimp')
          expect(option.description, pathOf(command)).toBe('print one JSON document on stdout (progress stays on stderr)');
        if (option.mandatory) expect(option.description, `${pathOf(command)} ${option.long}`).toMatch(/\(required\)$/);
      }
    }
  });

  it('the main commands end with examples; the top level says where settings and state come from', () => {
    for (const name of ['flag', 'flag restore', 'run', 'resume', 'validate', 'rehearse', 'trimp', 'sandbox start']) {
      const command = all(program).find((c) => pathOf(c) === `trimp-rollback ${name}`) as Command;
      expect(fullHelp(command), name).toMatch(/Examples:\n {2}trimp-rollback /);
    }
    const top = fullHelp(program);
    expect(top).toMatch(/~\/\.local\/state\/trimp-rollback/);
    expect(top).toMatch(/\.\/trimp-rollback\.yaml/);
    expect(top).toMatch(/Exit codes:[\s\S]*3 {2}declined or aborted/);
  });
});

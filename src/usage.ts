import type { Command } from 'commander';
import { type TrimpError, usageError } from './errors.js';

/**
 * `flag restor --run x`: commander would complain about `--run` (an option of `restore`), which
 * hides the real mistake. A word after a command that has subcommands must be one of them.
 */
export function unknownSubcommand(program: Command, args: string[]): TrimpError | undefined {
  const [first, second] = args;
  if (!first || !second || second.startsWith('-')) return undefined;
  const command = program.commands.find((c) => c.name() === first || c.aliases().includes(first));
  if (!command || command.commands.length === 0) return undefined;
  const names = command.commands.map((c) => c.name());
  if (names.includes(second) || command.registeredArguments.length > 0) return undefined;
  const near = closest(second, names);
  return usageError(
    'unknown-command',
    `unknown command '${first} ${second}'${near ? ` (Did you mean ${first} ${near}?)` : ''}`,
    `the commands of ${first}: ${names.join(', ')}; see trimp-rollback ${first} --help`,
  );
}

function closest(word: string, names: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = name.startsWith(word) || word.startsWith(name) ? 1 : editDistance(word, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** `trimp-rollback flag restore` for `flag restore --run x --bogus`: where --help would help. */
export function commandPath(program: Command, args: string[]): string {
  const path = ['trimp-rollback'];
  let command: Command = program;
  for (const word of args) {
    const next = command.commands.find((c) => c.name() === word);
    if (!next) break;
    path.push(word);
    command = next;
  }
  return path.join(' ');
}

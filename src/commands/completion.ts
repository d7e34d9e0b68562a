import type { Command, Option } from 'commander';
import { usageError } from '../errors.js';
import type { CommandResult } from './run-runbook.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/**
 * `trimp-rollback completion bash|zsh|fish`: a script that asks the CLI itself for candidates
 * (`trimp-rollback __complete WORDS...`), so commands, options, runbook ids, run ids and backup
 * ids are always those of this version and this state directory.
 */
export function completionCommand(shell: string): CommandResult {
  if (!(SHELLS as readonly string[]).includes(shell))
    throw usageError('completion-usage', `unknown shell "${shell}"; shells: ${SHELLS.join(', ')}`);
  process.stdout.write(SCRIPTS[shell as (typeof SHELLS)[number]]);
  return { exitCode: 0 };
}

const SCRIPTS = {
  // The candidates arrive already filtered by what was typed, and are taken as lines, never
  // through compgen -W: a run or backup named "$(...)" must not run when Tab is pressed.
  bash: `# trimp-rollback completion for bash. Load it with: eval "$(trimp-rollback completion bash)"
_trimp_rollback() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=()
  mapfile -t COMPREPLY < <(trimp-rollback __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  if [ "\${#COMPREPLY[@]}" -eq 0 ]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -o default -F _trimp_rollback trimp-rollback
`,
  zsh: `#compdef trimp-rollback
# trimp-rollback completion for zsh. Load it with: eval "$(trimp-rollback completion zsh)"
_trimp_rollback() {
  local -a candidates
  candidates=("\${(@f)$(trimp-rollback __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n "\${candidates[1]}" ]]; then compadd -a candidates; else _files; fi
}
compdef _trimp_rollback trimp-rollback
`,
  fish: `# trimp-rollback completion for fish. Load it with: trimp-rollback completion fish | source
function __trimp_rollback_complete
  set -l tokens (commandline -opc) (commandline -ct)
  trimp-rollback __complete $tokens[2..-1] 2>/dev/null
end
complete -c trimp-rollback -f -a '(__trimp_rollback_complete)'
`,
};

/** Where an option's or an argument's value comes from. */
type Source = 'runbooks' | 'runs' | 'backups' | 'scenarios' | 'faults' | 'shells' | 'user-types' | 'issues' | 'severities' | 'files';

const OPTION_VALUES: Record<string, Source> = {
  '--run': 'runs',
  '--backup': 'backups',
  '--runbook': 'files',
  '--config': 'files',
  '--database': 'files',
  '--state-dir': 'files',
  '--token-file': 'files',
  '--out': 'files',
  '--db-from': 'files',
  '--junit': 'files',
  '--dir': 'files',
  '--user-type': 'user-types',
  '--stages': 'user-types',
  '--issue': 'issues',
  '--severity': 'severities',
  '--user-types': 'user-types',
};

const ARGUMENT_VALUES: Record<string, Source> = {
  run: 'runbooks',
  'runbooks show': 'runbooks',
  'runbooks lint': 'files',
  resume: 'runs',
  'backup verify': 'backups',
  rehearse: 'scenarios',
  'sandbox break': 'faults',
  'sandbox heal': 'faults',
  completion: 'shells',
};

/**
 * The candidates for the last of `words` (the word being typed; the words before it are the
 * command line so far, without the program's name). Empty when the shell should complete files.
 */
/** `trimp-rollback __complete WORDS...` (the scripts call it): one candidate a line; never an error. */
export async function printCandidates(program: Command, words: string[]): Promise<CommandResult> {
  try {
    const typing = words.at(-1) ?? '';
    // Filtered here, by prefix: the scripts take the lines as they are.
    const found = (await candidates(program, words.length > 0 ? words : [''])).filter((c) => c.startsWith(typing) && !c.includes('\n'));
    if (found.length > 0) process.stdout.write(`${found.join('\n')}\n`);
  } catch {
    // No candidates: the shell falls back to file names.
  }
  return { exitCode: 0 };
}

export async function candidates(program: Command, words: string[]): Promise<string[]> {
  const typed = words.slice(0, -1);
  let command = program;
  const path: string[] = [];
  for (const word of typed) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      command = sub;
      path.push(sub.name());
    }
  }
  const previous = typed.at(-1);
  const current = words.at(-1) ?? '';
  const option = previous ? command.options.find((o: Option) => o.long === previous && (o.required || o.optional)) : undefined;
  if (option) return values(OPTION_VALUES[option.long ?? ''] ?? 'files', typed);
  if (current.startsWith('-')) return [...command.options.flatMap((o: Option) => (o.long ? [o.long] : [])), '--help'];
  const subcommands = command.commands.filter((c) => !c.name().startsWith('__')).map((c) => c.name());
  if (subcommands.length > 0 && path.length === 0) return subcommands;
  const argument = ARGUMENT_VALUES[path.join(' ')];
  if (argument) return values(argument, typed);
  return subcommands;
}

async function values(source: Source, typed: string[]): Promise<string[]> {
  const flag = (name: string) => {
    const at = typed.indexOf(name);
    return at >= 0 ? typed[at + 1] : undefined;
  };
  // The ids of the state directory the command line names (--config, --state-dir), else the default one.
  const config = async () => {
    const { loadConfig } = await import('../config/config.js');
    const named = flag('--config');
    const stateDir = flag('--state-dir');
    return loadConfig({ ...(named ? { config: named } : {}), ...(stateDir ? { stateDir } : {}), withoutToken: true });
  };
  switch (source) {
    case 'files':
      return [];
    case 'shells':
      return [...SHELLS];
    case 'user-types':
      return ['admin', 'beta', 'regular'];
    case 'issues':
      return (await import('../advice/matrix.js')).loadDecisionMatrix().map((row) => row.issue);
    case 'severities':
      return [...(await import('../advice/matrix.js')).SEVERITIES];
    case 'runbooks':
      return (await import('../runbook/load.js')).builtinRunbookIds();
    case 'scenarios': {
      const { GAME_DAYS } = await import('./game-days.js');
      return [
        ...new Set(
          Object.values(GAME_DAYS)
            .flatMap((g) => [g.scenario])
            .concat(Object.keys(GAME_DAYS)),
        ),
      ];
    }
    case 'faults':
      return (await import('../sandbox/faults.js')).FAULT_NAMES;
    case 'runs': {
      const { listRunIds } = await import('../engine/journal.js');
      return listRunIds((await config()).stateDir).reverse();
    }
    case 'backups': {
      const { BackupStore } = await import('../backup/store.js');
      return new BackupStore((await config()).backupsDir).entries().map((e) => e.id);
    }
  }
}

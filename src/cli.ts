import { Command, Option } from 'commander';
import type { CommandResult } from './commands/run-runbook.js';

/**
 * Commander wiring only. Each action imports its command module when it runs, so that
 * `--help` and `--version` load nothing but commander.
 */
export type ResultSink = (result: CommandResult) => void;

const EXIT_CODES = `
Exit codes:
  0  success            1  a step or check failed       2  bad usage or bad input
  3  declined/aborted, or a confirmation was needed without a terminal (add --yes)
  4  another run holds the lock          interrupted (Ctrl-C): ends by SIGINT (130)`;

export function createProgram(sink: ResultSink): Command {
  const program = new Command('trimp-rollback')
    .description('Run, rehearse and prove the TRIMP Enhancement rollback procedures.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    // `flag restore --config X`: options after a subcommand belong to the subcommand.
    .enablePositionalOptions()
    .addHelpText('after', EXIT_CODES);

  const flag = withRun(withTarget(program.command('flag')))
    .description('Scenario 1: set enhanced_trimp_calculation off (or on) per user type, verify, check health.')
    .option('--all', 'every user type (admin, beta, regular)')
    .option('--user-type <types>', 'comma-separated user types, e.g. beta,regular')
    .option('--enable', 'roll forward: turn the flag on instead of off')
    .option('--flag <name>', 'the flag to set', 'enhanced_trimp_calculation')
    .enablePositionalOptions()
    .action(async (options) => sink(await (await import('./commands/flag.js')).flagCommand(options)));

  withRun(withTarget(flag.command('restore')))
    .description('Put back exactly the per-type states recorded before an earlier run.')
    .requiredOption('--run <run_id>', 'the run whose earlier states to restore')
    .action(async (options) => sink(await (await import('./commands/flag-restore.js')).flagRestoreCommand(options.run, options)));

  withRun(withTarget(program.command('run')))
    .description('Run any runbook, built in (by id) or from a file.')
    .argument('<runbook>', 'a built-in runbook id or a path to a .yaml file')
    .option('--input <name=value...>', 'a runbook input (JSON values are parsed: --input states=\'{"beta":false}\')')
    .action(async (runbook, options) => sink(await (await import('./commands/run.js')).runCommand(runbook, options)));

  withRun(withTarget(program.command('resume')))
    .description('Continue an interrupted or failed run; a step that started but did not finish is re-checked first.')
    .argument('[run_id]', 'the run to resume (default: the newest unfinished one)')
    .action(async (runId, options) => sink(await (await import('./commands/resume.js')).resumeCommand(runId, options)));

  withTarget(program.command('validate'))
    .description("The seed's post-rollback checklist as named checks (pass / warn / fail / skip); exit 1 if any fails.")
    .option('--checks <names>', 'comma-separated check names (default: all)')
    .option('--since <run_id|time>', 'a run (its start, last change and baseline) or an ISO time (default: the newest run)')
    .addOption(new Option('--via <store>', 'read the flag through the admin API or the database').choices(['api', 'db']).default('api'))
    .option('--junit <file>', 'also write JUnit XML, one testcase per check')
    .option('--json', 'one JSON document on stdout')
    .option('--no-color', 'no colours')
    .action(async (options) => sink(await (await import('./commands/validate.js')).validateCommand(options)));

  program
    .command('rehearse')
    .description(
      'Game day: per scenario a throwaway sandbox under live traffic, its fault injected, the scenario run for real (--yes), the fault proven gone, timed against the budget.',
    )
    .argument('[scenarios...]', 'flag, gradual, application, database (default: flag)')
    .option('--all', 'every scenario')
    .option('--db-from <file>', 'start each sandbox from a copy of this database')
    .option('--json', 'one JSON document on stdout')
    .option('--no-color', 'no colours or spinners')
    .option('--keep', 'keep the sandbox directories afterwards')
    .action(async (scenarios, options) => sink(await (await import('./commands/rehearse.js')).rehearseCommand(scenarios, options)));

  const runbooks = program.command('runbooks').description('List, show, lint runbooks, or print their JSON Schema.');
  runbooks
    .command('list')
    .option('--json', 'JSON output')
    .action(async (options) => sink(await (await import('./commands/runbooks.js')).runbooksList(options)));
  runbooks
    .command('show')
    .argument('<runbook>', 'id or file')
    .option('--json', 'JSON output')
    .action(async (id, options) => sink(await (await import('./commands/runbooks.js')).runbooksShow(id, options)));
  runbooks
    .command('lint')
    .argument('[files...]', 'runbook files (default: the built-in runbooks)')
    .option('--json', 'JSON output')
    .action(async (files, options) => sink(await (await import('./commands/runbooks.js')).runbooksLint(files, options)));
  runbooks
    .command('schema')
    .description('JSON Schema of runbook files, for editors')
    .action(async () => sink(await (await import('./commands/runbooks.js')).runbooksSchema()));

  const sandbox = program.command('sandbox').description('The reference TRIMP app, for rehearsals and tests.');
  const sandboxCommand = (name: string, description: string) =>
    sandbox.command(name).description(description).requiredOption('--dir <dir>', 'the sandbox directory').option('--json', 'JSON output');
  sandboxCommand('start', 'start a sandbox (creating its database, token and app checkout if the directory has none)')
    .option('--port <port>', 'loopback port (default: a free one)')
    .option('--users <n>', 'users in a new database')
    .option('--activities <n>', 'activities in a new database')
    .option('--traffic <rate>', 'simulated user requests per second (TRIMP calculations and activity syncs)')
    .action(async (options) => sink(await (await import('./commands/sandbox.js')).sandboxStart(options)));
  sandboxCommand('seed', 'create the database at scale before starting (e.g. --activities 1000000)')
    .option('--users <n>', 'users', '200')
    .option('--activities <n>', 'activities', '100000')
    .option('--force', 'replace an existing database')
    .action(async (options) => sink(await (await import('./commands/sandbox.js')).sandboxSeed(options)));
  sandboxCommand('stop', 'stop the sandbox (by its recorded PID, checked)').action(async (options) =>
    sink(await (await import('./commands/sandbox.js')).sandboxStop(options)),
  );
  sandboxCommand('status', 'is it running, where, with which faults').action(async (options) =>
    sink(await (await import('./commands/sandbox.js')).sandboxStatusCommand(options)),
  );
  sandboxCommand('break', 'inject a fault: trimp-errors, slow, corrupt-db, bad-deploy, crash')
    .argument('<fault>', 'the fault')
    .option('--share <fraction>', 'trimp-errors: share of enhanced calculations that fail (default 0.5)')
    .option('--ms <ms>', 'slow: added latency of enhanced calculations (default 400)')
    .option('--defect <kind>', 'bad-deploy: health (fails /health, default) or trimp (wrong TRIMP)')
    .action(async (fault, options) => sink(await (await import('./commands/sandbox.js')).sandboxBreak(fault, options)));
  sandboxCommand('heal', 'clear one fault, or all of them')
    .argument('[fault]', 'the fault (default: all)')
    .action(async (fault, options) => sink(await (await import('./commands/sandbox.js')).sandboxHeal(fault, options)));

  program
    .command('trimp')
    .description("Banister TRIMP from an average heart rate or a stream file (the public app's constants by default).")
    .requiredOption('--duration <minutes>', 'moving time in minutes')
    .option('--avg-hr <bpm>', 'average heart rate')
    .requiredOption('--resting-hr <bpm>', 'resting heart rate')
    .requiredOption('--max-hr <bpm>', 'maximum heart rate')
    .requiredOption('--sex <sex>', 'male or female')
    .option('--stream <file>', 'a JSON array of heart-rate samples (the enhanced method)')
    .addOption(
      new Option('--constants <set>', 'app: 0.64 for both sexes; literature: 0.86 for women').choices(['app', 'literature']).default('app'),
    )
    .option('--json', 'full precision as {"trimp", "method"}')
    .action(async (options) => sink(await (await import('./commands/trimp.js')).trimpCommand(options)));

  for (const command of allCommands(program)) acceptConfig(command);
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/**
 * Every command accepts --config (scripts pass it uniformly). Commands that do not read the
 * target still load it, so that a missing or malformed file is reported the same way everywhere.
 */
function acceptConfig(command: Command): void {
  if (command.options.some((option) => option.long === '--config') || command.commands.length > 0) return;
  command.option('--config <file>', 'config file (validated; this command does not need the target)');
  command.hook('preAction', async (cmd) => {
    const file = cmd.opts().config as string | undefined;
    if (file) (await import('./config/config.js')).loadConfig({ config: file });
  });
}

/** Where the target is. Every command that touches it takes these. */
function withTarget(command: Command): Command {
  return command
    .option('--config <file>', 'config file (or TRIMP_ROLLBACK_CONFIG; default ./trimp-rollback.yaml if present)')
    .option('--base-url <url>', 'the app (default http://localhost:8080)')
    .option('--database <file>', 'the SQLite database (default training_data.db)')
    .option('--state-dir <dir>', 'where runs and the lock live')
    .option('--token-file <file>', 'a file holding the admin token (or TRIMP_ADMIN_TOKEN)');
}

/** How a run behaves. */
function withRun(command: Command): Command {
  return command
    .option('--dry-run', 'run the read-only checks for real and show exactly what each change would do')
    .option('-y, --yes', 'confirm every step (needed without a terminal)')
    .option('--reason <text>', 'why: journaled with the run')
    .addOption(new Option('--via <store>', 'reach the flag through the admin API or the database').choices(['api', 'db']).default('api'))
    .option('--force-unlock', 'take over a stale lock (needs --reason)')
    .option('--json', 'one JSON document on stdout')
    .option('--no-color', 'no colours or spinners');
}

import { Command, Option } from 'commander';
import type { CommandResult } from './commands/run-runbook.js';

/**
 * Commander wiring only. Each action imports its command module when it runs, so that
 * `--help` and `--version` load nothing but commander.
 */
export type ResultSink = (result: CommandResult) => void;

const JSON_HELP = 'print one JSON document on stdout (progress stays on stderr)';

const SETTINGS = `
Settings (flags > environment > config file > the seed's defaults):
  config file  --config FILE, TRIMP_ROLLBACK_CONFIG, or ./trimp-rollback.yaml if present;
               without one, the seed's defaults: http://localhost:8080, ./training_data.db, ./app/logs
  state        --state-dir, TRIMP_ROLLBACK_STATE_DIR, state_dir in the config, or
               $XDG_STATE_HOME/trimp-rollback (default ~/.local/state/trimp-rollback):
               runs/<run_id>/journal.jsonl, report.md, report.json, and the lock
  admin token  TRIMP_ADMIN_TOKEN, TRIMP_ADMIN_TOKEN_FILE, --token-file FILE or target.token_file
               (never on the command line)`;

const EXIT_CODES = `
Exit codes:
  0  success            1  a step or check failed       2  bad usage or bad input
  3  declined or aborted by the operator, or a confirmation was needed without a terminal (add --yes)
  4  another run holds the lock          130  interrupted (Ctrl-C): ends by SIGINT`;

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}`;

export function createProgram(sink: ResultSink): Command {
  const program = new Command('trimp-rollback')
    .description('Run, rehearse and prove the TRIMP Enhancement rollback procedures.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    // `flag restore --config X`: options after a subcommand belong to the subcommand.
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `${examples(
        'trimp-rollback rehearse                      # a game day against a throwaway sandbox',
        'trimp-rollback flag --all --dry-run          # what the flag rollback would do, checks run for real',
        'trimp-rollback flag --all --reason "errors"  # the flag rollback, asking before each change',
        'trimp-rollback backup create                 # a verified online backup of the database',
        'trimp-rollback database --dry-run            # the database rollback: which backup, what it loses',
      )}\n${SETTINGS}\n${EXIT_CODES}`,
    );

  const flag = withRun(withTarget(program.command('flag')))
    .description('Scenario 1: set enhanced_trimp_calculation off (or on) per user type, verify it, check health.')
    .option('--all', 'every user type (admin, beta, regular)')
    .option('--user-type <types>', 'comma-separated user types, e.g. beta,regular')
    .option('--enable', 'roll forward: turn the flag on instead of off')
    .option('--flag <name>', 'the flag to set', 'enhanced_trimp_calculation')
    .option(
      '--notify-users',
      'also send the notice to users (notify.users); a flag rollback is transparent to them, so by default nothing is sent',
    )
    .enablePositionalOptions()
    .addHelpText(
      'after',
      examples(
        'trimp-rollback flag --all --dry-run',
        'trimp-rollback flag --user-type beta,regular --reason "error spike"',
        'trimp-rollback flag --all --via db --database training_data.db --yes   # the app is down',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/flag.js')).flagCommand(options)));

  withRun(withTarget(program.command('gradual')))
    .description(
      'Procedure 2 (Scenario 1, controlled): the flag off cohort by cohort (regular, beta, admin), each stage judged by live metrics.',
    )
    .option('--window <duration>', "how long each stage is watched before deciding (default 15m, the seed's)")
    .option('--interval <duration>', 'how often the metrics are sampled within a window (default 30s)')
    .option('--stages <types>', 'the cohorts in order (default regular,beta,admin)')
    .option('--fast', 'skip the windows: every stage back to back, without evidence (said in the journal and report)')
    .option('--flag <name>', 'the flag to roll back', 'enhanced_trimp_calculation')
    .addHelpText(
      'after',
      examples(
        'trimp-rollback gradual --dry-run                      # every stage, window and condition; nothing changes',
        'trimp-rollback gradual --reason "TRIMP errors, low severity"',
        'trimp-rollback gradual --window 5m --interval 15s --stages regular,beta',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/gradual.js')).gradualCommand(options)));

  withRetarget(withRun(withTarget(flag.command('restore'))))
    .description("Put back the per-type states an earlier run recorded before it changed them, on that run's target.")
    .requiredOption('--run <run_id>', 'the run whose earlier states to restore (required)')
    .addHelpText('after', examples('trimp-rollback flag restore --run 20261129T031502.123Z-flag-3f9a'))
    .action(async (options) => sink(await (await import('./commands/flag-restore.js')).flagRestoreCommand(options.run, options)));

  const application = withRun(withTarget(program.command('application')))
    .description('Scenario 2: stop the app by its PID, back up the database, deploy the previous release (git), start it, prove health.')
    .option('--to <ref>', 'the release to deploy (default: the commit that ran before the current one; else HEAD~1)')
    .option('--force', 'deploy over uncommitted changes in the app directory (journaled with their diff stat)')
    .option('--all-at-once', 'with several instances: stop them all, deploy, start them all (default: one at a time, rolling)')
    .enablePositionalOptions()
    .addHelpText(
      'after',
      examples(
        'trimp-rollback application --dry-run                 # which release, the commits it undoes, every step',
        'trimp-rollback application --reason "release 1.2.0 fails /health"',
        'trimp-rollback application --to v1.1.0 --yes',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/application.js')).applicationCommand(options)));

  withRetarget(withRun(withTarget(application.command('undo'))))
    .description('Return the app to the commit that ran before an earlier application rollback, the same safe way.')
    .requiredOption('--run <run_id>', 'the application rollback to undo (required)')
    .option('--force', 'deploy over uncommitted changes in the app directory')
    .option('--all-at-once', 'with several instances: stop them all, deploy, start them all (default: one at a time)')
    .addHelpText('after', examples('trimp-rollback application undo --run 20261129T031502.123Z-application-3f9a'))
    .action(async (options) => sink(await (await import('./commands/application.js')).undoApplicationRollback(options.run, options)));

  const database = withRun(withTarget(program.command('database')))
    .description(
      'Scenario 3: restore a verified backup crash-safely (SQLite: the file; PostgreSQL: a new database swapped in), restart, validate.',
    )
    .option('--backup <id>', 'the backup to restore (default: the newest whose checksum matches its manifest)')
    .option('--latest', 'the newest backup, whatever its state (it is still verified before anything changes)')
    .option('--thorough', 'PRAGMA integrity_check (complete, slower) instead of quick_check')
    .enablePositionalOptions()
    .addHelpText(
      'after',
      examples(
        'trimp-rollback database --dry-run                       # which backup, what it loses, every step; nothing changes',
        'trimp-rollback database --reason "corrupt pages"        # asks before each change',
        'trimp-rollback database --backup 20261129T031502.123Z --thorough --yes',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/database.js')).databaseCommand(options)));

  withRetarget(withRun(withTarget(database.command('undo'))))
    .description('Put back the database an earlier database rollback kept aside, the same crash-safe way.')
    .requiredOption('--run <run_id>', 'the database rollback to undo (required)')
    .option('--thorough', 'PRAGMA integrity_check instead of quick_check')
    .addHelpText('after', examples('trimp-rollback database undo --run 20261129T031502.123Z-database-3f9a'))
    .action(async (options) => sink(await (await import('./commands/database.js')).undoDatabaseRollback(options.run, options)));

  const backup = program.command('backup').description('Verified online backups of the target database: create, list, verify, prune.');
  const backupCommand = (name: string, description: string) =>
    backup
      .command(name)
      .description(description)
      .option('--config <file>', 'config file (default: TRIMP_ROLLBACK_CONFIG, or ./trimp-rollback.yaml if present)')
      .option(
        '--database <file|url>',
        'the SQLite database file, or postgres://USER@HOST:PORT/DB (password: PGPASSWORD or ~/.pgpass) (default ./training_data.db)',
      )
      .option('--state-dir <dir>', 'the state directory; backups go to backups.dir, default <state_dir>/backups')
      .option('--json', JSON_HELP)
      .option('--no-color', 'no colours or spinners');
  backupCommand('create', "An online backup while the app writes (SQLite's backup API), checked, hashed, fsynced, with a manifest.")
    .option('--label <label>', 'a label, part of the id (letters, digits, . - _)')
    .option('--deadline <duration>', 'give up after this long (default 10m)')
    .addHelpText('after', examples('trimp-rollback backup create --label before-deploy'))
    .action(async (options) => sink(await (await import('./commands/backup.js')).backupCreate(options)));
  backupCommand('list', 'Every backup: age, size, activities, and whether its SHA-256 still matches its manifest.').action(
    async (options) => sink(await (await import('./commands/backup.js')).backupList(options)),
  );
  backupCommand('verify', 'Manifest, size, SHA-256 and quick_check (integrity_check with --thorough); exit 1 if any fails.')
    .argument('<id>', 'the backup id, as backup list shows it')
    .option('--thorough', 'PRAGMA integrity_check (complete, slower)')
    .action(async (id, options) => sink(await (await import('./commands/backup.js')).backupVerify(id, options)));
  backupCommand('prune', 'Remove all but the newest N backups (not while a rollback runs).')
    .option('--keep <n>', 'how many of the newest backups to keep (required, at least 1)')
    .option('--dry-run', 'say what would be removed; remove nothing')
    .action(async (options) => sink(await (await import('./commands/backup.js')).backupPrune(options)));

  withRun(withTarget(program.command('run')))
    .description('Run any runbook, built in (by id) or from a file.')
    .argument('<runbook>', 'a built-in runbook id or a path to a .yaml file')
    .option('--input <name=value...>', 'a runbook input (JSON values are parsed: --input states=\'{"beta":false}\')')
    .addHelpText(
      'after',
      examples('trimp-rollback run flag --input states=\'{"regular":false}\' --dry-run', 'trimp-rollback run ./my-runbook.yaml --yes'),
    )
    .action(async (runbook, options) => sink(await (await import('./commands/run.js')).runCommand(runbook, options)));

  withRetarget(withRun(withTarget(program.command('resume'))))
    .description(
      "Continue an interrupted or failed run on that run's own target; a step that started but did not finish is re-checked first.",
    )
    .argument('[run_id]', 'the run to resume (default: the newest unfinished one, unless a later run changed the same system)')
    .addHelpText('after', examples('trimp-rollback resume', 'trimp-rollback resume 20261129T031502.123Z-flag-3f9a --yes'))
    .action(async (runId, options) => sink(await (await import('./commands/resume.js')).resumeCommand(runId, options)));

  withTarget(program.command('status'))
    .description('One screen: the flag per user type, app health and release, the newest backup, the lock, the last runs.')
    .addOption(new Option('--via <store>', 'read the flag through the admin API or the database (default: api)').choices(['api', 'db']))
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('trimp-rollback status', 'trimp-rollback status --json --config /tmp/sb/trimp-rollback.yaml'))
    .action(async (options) => sink(await (await import('./commands/status.js')).statusCommand(options)));

  withTarget(program.command('advise'))
    .description(
      "The seed's decision matrix: which scenario fits the issue, its command and its time; --from-metrics reads it off the system.",
    )
    .option('--issue <type>', 'trimp-errors, performance, instability, data-corruption or security-breach')
    .option('--severity <level>', 'low, medium, high or critical')
    .option('--from-metrics', 'propose a row from live health, metrics, error.log and quick_check, showing the evidence')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples(
        'trimp-rollback advise --issue trimp-errors',
        'trimp-rollback advise --from-metrics --config /tmp/sb/trimp-rollback.yaml',
        'trimp-rollback advise   # on a terminal: asks',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/advise.js')).adviseCommand(options)));

  const logs = program.command('logs').description("The app's logs: a bundle and its error patterns.");
  logs
    .command('collect')
    .description("A .tar.gz of the app's logs (secrets masked) and, beside it, the error patterns since the run began.")
    .option('--run <run_id>', 'the run: patterns since it began; the bundle goes into its directory and its report links it')
    .option('--out <file>', 'where the .tar.gz goes (default ./trimp-logs-<time>.tar.gz, or the run directory)')
    .option('--config <file>', 'config file (default: TRIMP_ROLLBACK_CONFIG, or ./trimp-rollback.yaml if present)')
    .option('--state-dir <dir>', 'where runs live (default ~/.local/state/trimp-rollback)')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples('trimp-rollback logs collect --run 20261129T031502.123Z-flag-3f9a', 'trimp-rollback logs collect --out /tmp/logs.tar.gz'),
    )
    .action(async (options) => sink(await (await import('./commands/logs.js')).logsCollect(options)));

  program
    .command('completion')
    .description('Print a shell completion script (commands, options, runbook ids, run ids, backup ids).')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', examples('eval "$(trimp-rollback completion bash)"   # in ~/.bashrc', 'trimp-rollback completion fish | source'))
    .action(async (shell) => sink((await import('./commands/completion.js')).completionCommand(shell)));

  const runs = program.command('runs').description('List the runs in the state directory.');
  runs
    .command('list', { isDefault: true })
    .description('List the runs in the state directory: status, runbook, target, age, reason.')
    .option('--config <file>', 'config file (default: TRIMP_ROLLBACK_CONFIG, or ./trimp-rollback.yaml if present)')
    .option('--state-dir <dir>', 'where runs and the lock live (default ~/.local/state/trimp-rollback)')
    .option('--json', JSON_HELP)
    .action(async (options) => sink(await (await import('./commands/runs.js')).runsList(options)));

  program
    .command('report')
    .description("A run's report again: report.md's text, or with --html report.html (charts across the change) rewritten.")
    .argument('<run_id>', 'the run (trimp-rollback runs list)')
    .option('--html', 'write report.html beside the journal and print its path')
    .option('--config <file>', 'config file (default: TRIMP_ROLLBACK_CONFIG, or ./trimp-rollback.yaml if present)')
    .option('--state-dir <dir>', 'where runs and the lock live (default ~/.local/state/trimp-rollback)')
    .addHelpText('after', examples('trimp-rollback report 20261129T031502.123Z-flag-3f9a --html'))
    .action(async (runId, options) => sink(await (await import('./commands/report.js')).reportCommand(runId, options)));

  withTarget(program.command('validate'))
    .description("Run the seed's post-rollback checklist as named checks (pass / warn / fail / skip); exit 1 if any fails.")
    .option('--checks <names>', "comma-separated check names (default: the seed's checklist; logs-no-secrets runs when named)")
    .option('--since <run_id|time>', 'a run (its start, last change and baseline) or an ISO time (default: the newest run)')
    .addOption(new Option('--via <store>', 'read the flag through the admin API or the database (default: api)').choices(['api', 'db']))
    .option('--settle <duration>', 'wait up to this long (e.g. 30s) for enough user requests to judge errors and latency')
    .option('--junit <file>', 'also write JUnit XML (mode 0644), one testcase per check')
    .option('--json', JSON_HELP)
    .option('--no-color', 'no colours or spinners')
    .addHelpText(
      'after',
      examples(
        'trimp-rollback validate',
        'trimp-rollback validate --since 20261129T031502.123Z-flag-3f9a --junit out.xml --settle 30s',
        'trimp-rollback validate --checks user-errors,performance --json',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/validate.js')).validateCommand(options)));

  program
    .command('rehearse')
    .description('Game day: per scenario, a throwaway sandbox under live traffic, its fault injected, the rollback run for real, timed.')
    .argument(
      '[scenarios...]',
      'flag, gradual, application, database, or one game day: gradual-regular, gradual-every-cohort (default: flag)',
    )
    .option('--all', 'every scenario')
    .option('--runbook <file>', "rehearse your own runbook against the scenario's fault (one scenario)")
    .option('--html <file>', 'also write the scorecard as a self-contained page: a row and a small error-rate chart per game day')
    .option('--engine <engine>', "the sandbox's database: sqlite (default) or postgres (a PostgreSQL server of its own)")
    .option('--instances <n>', 'app instances sharing the database in each sandbox (1-8, default 1)')
    .option('--profile <name>', 'the app each sandbox plays: seed (default) or trainingmonkey (the public app; no flag game days there)')
    .option('--db-from <file>', 'start each sandbox from a copy of this database')
    .option('--json', JSON_HELP)
    .option('--no-color', 'no colours or spinners')
    .option('--keep', 'keep the sandbox directories afterwards (and say how to stop them)')
    .addHelpText(
      'after',
      examples(
        'trimp-rollback rehearse',
        'trimp-rollback rehearse --all --json',
        'trimp-rollback rehearse flag --runbook ./staged.yaml',
        'trimp-rollback rehearse --all --profile trainingmonkey',
      ),
    )
    .action(async (scenarios, options) => sink(await (await import('./commands/rehearse.js')).rehearseCommand(scenarios, options)));

  const runbooks = program.command('runbooks').description('List, show, lint and document runbooks, or print their JSON Schema.');
  runbooks
    .command('docs')
    .description('Render each built-in runbook as a Markdown procedure (use case, impact, time, numbered steps with their operations).')
    .option('--out <dir>', 'where the pages go (default docs/runbooks)')
    .option('--check', 'write nothing; exit 1 when a page is missing or stale')
    .addHelpText('after', examples('trimp-rollback runbooks docs', 'trimp-rollback runbooks docs --check'))
    .action(async (options) => sink(await (await import('./commands/runbooks.js')).runbooksDocs(options)));
  runbooks
    .command('list')
    .description('List the built-in runbooks with their budgets and step counts.')
    .option('--json', JSON_HELP)
    .action(async (options) => sink(await (await import('./commands/runbooks.js')).runbooksList(options)));
  runbooks
    .command('show')
    .description('Show a runbook: its use case, inputs and steps, and how each step rehearses.')
    .argument('<runbook>', 'a built-in runbook id or a path to a .yaml file')
    .option('--json', JSON_HELP)
    .action(async (id, options) => sink(await (await import('./commands/runbooks.js')).runbooksShow(id, options)));
  runbooks
    .command('lint')
    .description('Check runbook files; every problem as file:line:col, exit 2 if any.')
    .argument('[files...]', 'runbook files (default: the built-in runbooks)')
    .option('--json', JSON_HELP)
    .action(async (files, options) => sink(await (await import('./commands/runbooks.js')).runbooksLint(files, options)));
  runbooks
    .command('schema')
    .description('Print the JSON Schema of runbook files, for editors.')
    .action(async () => sink(await (await import('./commands/runbooks.js')).runbooksSchema()));

  const sandbox = program.command('sandbox').description('The reference TRIMP app, for rehearsals and tests.');
  const sandboxCommand = (name: string, description: string) =>
    sandbox
      .command(name)
      .description(description)
      .requiredOption('--dir <dir>', 'the sandbox directory (required)')
      .option('--json', JSON_HELP);
  sandboxCommand('start', 'Start a sandbox (creating its database, token and app checkout if the directory has none).')
    .option('--port <port>', 'loopback port (default: a free one)')
    .option('--users <n>', 'users in a new database (default 20)')
    .option('--activities <n>', 'activities in a new database (default 3000)')
    .option('--traffic <rate>', 'simulated user requests per second (default 0)')
    .option(
      '--engine <engine>',
      'sqlite (a file, the default) or postgres (a PostgreSQL server of its own, loopback, run as the postgres user)',
    )
    .option('--instances <n>', 'app instances sharing the database, each on a free port (1-8; default: as last started, else 1)')
    .option(
      '--profile <name>',
      'seed (the seed contract, default) or trainingmonkey (the public app as deployed: session login, its answers)',
    )
    .addHelpText(
      'after',
      examples(
        'trimp-rollback sandbox start --dir /tmp/sb --traffic 40',
        'trimp-rollback sandbox start --dir /tmp/tm --profile trainingmonkey --traffic 40',
        'trimp-rollback sandbox start --dir /tmp/pgsb --engine postgres --instances 2 --traffic 40',
        'trimp-rollback flag --all --config /tmp/sb/trimp-rollback.yaml',
      ),
    )
    .action(async (options) => sink(await (await import('./commands/sandbox.js')).sandboxStart(options)));
  sandboxCommand('seed', 'Create the database at scale before starting it (e.g. --activities 1000000).')
    .option('--users <n>', 'users', '200')
    .option('--activities <n>', 'activities', '100000')
    .option('--force', 'replace an existing database')
    .action(async (options) => sink(await (await import('./commands/sandbox.js')).sandboxSeed(options)));
  sandboxCommand('stop', 'Stop the sandbox (by its recorded PID, checked to be this sandbox).').action(async (options) =>
    sink(await (await import('./commands/sandbox.js')).sandboxStop(options)),
  );
  sandboxCommand('status', 'Say whether it runs, where, and with which faults; exit 1 when it does not run.').action(async (options) =>
    sink(await (await import('./commands/sandbox.js')).sandboxStatusCommand(options)),
  );
  sandboxCommand('break', 'Inject a fault: trimp-errors, slow, corrupt-db, bad-deploy, crash, bad-migration or stale-flags.')
    .argument('<fault>', 'the fault')
    .option('--share <fraction>', 'trimp-errors: share of enhanced calculations that fail (default 0.5)')
    .option('--user-types <list>', 'trimp-errors: only these cohorts fail, e.g. regular or regular,beta (default: every cohort)')
    .option('--ms <ms>', 'slow: added latency of enhanced calculations (default 400)')
    .option('--defect <kind>', 'bad-deploy: health (fails /health, default) or trimp (wrong TRIMP)')
    .action(async (fault, options) => sink(await (await import('./commands/sandbox.js')).sandboxBreak(fault, options)));
  sandboxCommand('heal', 'Clear one fault, or all of them.')
    .argument('[fault]', 'the fault (default: all)')
    .action(async (fault, options) => sink(await (await import('./commands/sandbox.js')).sandboxHeal(fault, options)));

  program
    .command('trimp')
    .description("Compute Banister TRIMP from an average heart rate or a stream file, with the public app's constants.")
    .requiredOption('--duration <minutes>', 'moving time in minutes (required)')
    .option('--avg-hr <bpm>', 'average heart rate (the average method)')
    .option('--stream <file>', 'a JSON array of heart-rate samples (the enhanced method, as the app computes it)')
    .requiredOption('--resting-hr <bpm>', 'resting heart rate (required)')
    .requiredOption('--max-hr <bpm>', 'maximum heart rate (required)')
    .requiredOption('--sex <sex>', 'male or female (required)')
    .addOption(
      new Option('--constants <set>', 'app: 0.64 for both sexes; literature: 0.86 for women').choices(['app', 'literature']).default('app'),
    )
    .option('--json', 'print {"trimp", "method", ...} at full precision')
    .addHelpText(
      'after',
      examples(
        'trimp-rollback trimp --duration 60 --avg-hr 150 --resting-hr 50 --max-hr 180 --sex male   # 129.36',
        'trimp-rollback trimp --duration 47.5 --stream hr.json --resting-hr 55 --max-hr 190 --sex female --json',
      ),
    )
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
    .option('--config <file>', 'config file (default: TRIMP_ROLLBACK_CONFIG, or ./trimp-rollback.yaml if present)')
    .option('--base-url <url>', 'the app, one instance (default: target.instances or target.base_url, else http://localhost:8080)')
    .option(
      '--database <file|url>',
      'the SQLite database file, or postgres://USER@HOST:PORT/DB (password: PGPASSWORD or ~/.pgpass) (default ./training_data.db)',
    )
    .option('--state-dir <dir>', 'where runs and the lock live (default ~/.local/state/trimp-rollback)')
    .option('--token-file <file>', 'a file holding the admin token (or TRIMP_ADMIN_TOKEN)');
}

/** How a run behaves. */
function withRun(command: Command): Command {
  return command
    .option('--dry-run', 'run the read-only checks for real and show exactly what each change would do')
    .option('-y, --yes', 'confirm every step (needed without a terminal)')
    .option('--reason <text>', 'why: journaled with the run')
    .addOption(new Option('--via <store>', 'reach the flag through the admin API or the database (default: api)').choices(['api', 'db']))
    .option('--settle <duration>', 'let validation wait up to this long (e.g. 30s) for enough user requests after the change')
    .option('--force-unlock', 'take over a stale or unreadable lock (needs --reason)')
    .option(
      '--observe <duration>',
      "keep sampling the app's metrics this long after the last step (e.g. 2m): the report shows the change settle",
    )
    .option('--sample-every <duration>', "how often the app's metrics are sampled for the report (default 1s; off: not at all)")
    .option(
      '--notify <url...>',
      'also tell this webhook (Slack-compatible) about this run: start, progress, end (visible to ps: prefer notify: in the config)',
    )
    .option('--json', JSON_HELP)
    .option('--no-color', 'no colours or spinners');
}

/** resume and restore act on the earlier run's target; moving them elsewhere is explicit. */
function withRetarget(command: Command): Command {
  return command.option('--retarget', "act on the target named on the command line instead of the run's own (needs --reason)");
}

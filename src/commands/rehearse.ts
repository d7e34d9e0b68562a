import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/config.js';
import { Interruption } from '../engine/interrupt.js';
import { readJournal } from '../engine/journal.js';
import type { RunResult } from '../engine/result.js';
import { ExitCode, messageOf, usageError } from '../errors.js';
import { readMetricsFile } from '../monitor/metrics-file.js';
import { formatMs } from '../report/format.js';
import { renderScorecardPage } from '../report/html/scorecard-page.js';
import { toJson, writeOutputFile } from '../report/output.js';
import { type RunTimeline, runTimeline } from '../report/run-timeline.js';
import { renderTable } from '../report/table.js';
import { killSandboxNow, startSandbox, stopSandbox } from '../sandbox/control.js';
import { breakSandbox } from '../sandbox/fault-control.js';
import type { FaultName } from '../sandbox/faults.js';
import { appCommit } from '../target/app-repo.js';
import { readHealth } from '../target/health.js';
import { connectTarget, type Target } from '../target/target.js';
import { GAME_DAYS, type GameDay, gameDayOn } from './game-days.js';
import { isChange } from './run-history.js';
import { type CommandResult, runRunbook } from './run-runbook.js';

export const SCENARIOS = [...new Set(Object.values(GAME_DAYS).map((g) => g.scenario))];

/** A scenario's game days (gradual has two), or the one game day named. */
function gameDaysNamed(name: string): string[] {
  if (GAME_DAYS[name]) return [name];
  return Object.keys(GAME_DAYS).filter((key) => GAME_DAYS[key]?.scenario === name);
}

const TRAFFIC_PER_SECOND = 40;
/** The fault is seen once at least this many requests (a second of traffic) show it. */
const MIN_SYMPTOM_REQUESTS = 40;
const PROOF_WINDOW_S = 2;

export interface RehearseOptions {
  json?: boolean;
  color?: boolean;
  keep?: boolean;
  all?: boolean;
  dbFrom?: string;
  /** The operator's own runbook, rehearsed against the scenario's fault instead of the built-in one. */
  runbook?: string;
  /** Write the scorecard as a self-contained page here too. */
  html?: string;
  /** The sandbox's database engine: sqlite (a file) or postgres (its own server). */
  engine?: string;
  /** App instances in each sandbox (1-8). */
  instances?: string | number;
  /** The app each sandbox plays: seed (its contract) or trainingmonkey (the public app as deployed). */
  profile?: string;
}

/** How long the in-run validation may wait for enough user traffic after the change. */
const SETTLE = '5s';
/** How long each game day's run samples the metrics after its last step (--observe). */
const OBSERVE = '3s';

export interface ScoreRow {
  scenario: string;
  fault: FaultName;
  /** not possible: the scenario cannot exist on this app (said with the reason in the note). */
  status: 'passed' | 'failed' | 'not possible';
  symptom_before: string | null;
  run_status: string | null;
  duration_ms: number | null;
  budget_ms: number | null;
  within_budget: boolean | null;
  fault_gone: boolean | null;
  proof: string | null;
  /** `proof` in its two parts: the error-free window of traffic, and the scenario's own (the database game day's). */
  window_proof: string | null;
  scenario_proof: string | null;
  note: string | null;
  run?: RunResult;
  /** The run's steps and metric series, for the scorecard page (not in --json). */
  timeline?: RunTimeline;
}

/**
 * `trimp-rollback rehearse [scenario...] | --all`: for each scenario a throwaway sandbox under
 * live traffic, the matching fault injected and seen, the scenario run for real with --yes, the
 * fault proven gone, the time against the seed's budget; then everything torn down.
 */
export async function rehearseCommand(names: string[], options: RehearseOptions): Promise<CommandResult> {
  if (options.all && names.length > 0) throw usageError('rehearse-usage', 'give scenario names or --all, not both');
  for (const name of names) {
    if (gameDaysNamed(name).length === 0)
      throw usageError(
        'rehearse-unknown',
        `unknown scenario "${name}"; scenarios: ${SCENARIOS.join(', ')} (game days: ${Object.keys(GAME_DAYS).join(', ')})`,
      );
  }
  if (options.profile !== undefined && options.profile !== 'seed' && options.profile !== 'trainingmonkey')
    throw usageError('option-invalid', `--profile must be seed or trainingmonkey, not "${options.profile}"`);
  const profile = options.profile === 'trainingmonkey' ? 'trainingmonkey' : 'seed';
  // On the public app the flag cannot be changed: its own game day is the application rollback's.
  const defaultNames = profile === 'trainingmonkey' ? ['application'] : ['flag'];
  const scenarios = [...new Set((options.all ? SCENARIOS : names.length > 0 ? names : defaultNames).flatMap(gameDaysNamed))];
  const impossible = scenarios.filter((name) => cannotRehearse(name, profile));
  if (impossible.length === scenarios.length)
    throw usageError(
      'rehearse-unsupported',
      `${impossible.join(', ')} cannot be rehearsed on the ${profile} profile: ${cannotRehearse(impossible[0] as string, profile)}`,
      'rehearse application or database there (or --all: the others are listed with the reason)',
    );
  if (options.runbook && scenarios.length !== 1) throw usageError('rehearse-usage', '--runbook rehearses one game day: name it');
  if (options.runbook && !existsSync(options.runbook)) throw usageError('runbook-missing', `runbook file not found: ${options.runbook}`);
  if (options.html !== undefined) verifyWritableFile('--html', options.html);
  if (options.engine !== undefined && options.engine !== 'sqlite' && options.engine !== 'postgres')
    throw usageError('option-invalid', `--engine must be sqlite or postgres, not "${options.engine}"`);
  if (options.engine === 'postgres' && options.dbFrom)
    throw usageError('rehearse-usage', '--db-from copies a SQLite file: it cannot be given with --engine postgres');
  const engine = options.engine === 'postgres' ? 'postgres' : 'sqlite';
  const instances = options.instances === undefined ? 1 : Number(options.instances);
  if (!Number.isInteger(instances) || instances < 1 || instances > 8)
    throw usageError('option-invalid', `--instances must be a whole number from 1 to 8, not "${options.instances}"`);

  // One Ctrl-C handler for the whole game day: the first stops after the step in flight and
  // tears the sandbox down; a second kills the sandbox at once and removes its directory.
  const interruption = new Interruption((message) => process.stderr.write(`${message}\n`)).install();
  const rows: ScoreRow[] = [];
  try {
    for (const name of scenarios) {
      if (interruption.requested) break;
      const gameDay = gameDayOn(GAME_DAYS[name] as GameDay, engine);
      const why = cannotRehearse(name, profile);
      if (why) {
        process.stderr.write(`\n== Game day: ${name}: not on the ${profile} profile: ${why}\n`);
        rows.push({ ...unscoredRow(name, gameDay, why), status: 'not possible' });
        continue;
      }
      rows.push(await rehearse(name, gameDay, { ...options, engine, instances, profile }, interruption));
    }
  } finally {
    interruption.dispose();
  }
  if (options.json) {
    const count = (status: ScoreRow['status']) => rows.filter((r) => r.status === status).length;
    const scenarios = rows.map(({ timeline: _, ...row }) => row);
    process.stdout.write(
      `${toJson({ scenarios, passed: count('passed'), failed: count('failed'), interrupted: interruption.requested })}\n`,
    );
  } else {
    process.stdout.write(renderScorecard(rows, engine));
  }
  if (options.html !== undefined) await writeScorecardPage(options.html, rows);
  if (interruption.requested) return { exitCode: ExitCode.failed, interrupted: true };
  // A scenario that could not be rehearsed is not a pass; one the app cannot have is said, and not counted.
  return { exitCode: rows.every((r) => r.status !== 'failed') ? ExitCode.ok : ExitCode.failed };
}

async function rehearse(name: string, gameDay: GameDay, options: RehearseOptions, interruption: Interruption): Promise<ScoreRow> {
  const row = unscoredRow(name, gameDay, null);
  const runbook = options.runbook ?? gameDay.runbook;
  const dir = mkdtempSync(join(tmpdir(), `trimp-gameday-${name}-`));
  process.stderr.write(`\n== Game day: ${name} (fault: ${gameDay.fault}) in ${dir}\n`);
  let target: Target | undefined;
  const forget = interruption.onHardStop(() => {
    killSandboxNow(dir);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  });
  try {
    const sandbox = await startSandbox(dir, {
      traffic: TRAFFIC_PER_SECOND,
      engine: options.engine === 'postgres' ? 'postgres' : 'sqlite',
      instances: Number(options.instances ?? 1),
      ...(options.dbFrom ? { dbFrom: options.dbFrom } : {}),
      profile: options.profile === 'trainingmonkey' ? 'trainingmonkey' : 'seed',
    });
    // The game day looks at the app as the tool does: through the sandbox's config (token or login, its profile).
    target = connectTarget(loadConfig({ config: sandbox.config }), 'api', { dryRun: true });
    const api = target.api;
    const prepared = await gameDay.prepare?.(dir, sandbox, interruption.signal);
    if (prepared) process.stderr.write(`Before the fault: ${prepared.text}\n`);
    await breakSandbox(dir, gameDay.fault, gameDay.faultOptions);
    if (gameDay.note) process.stderr.write(`Rehearsal: ${gameDay.note}\n`);
    const before = gameDay.symptom ? await gameDay.symptom(dir) : await waitForErrors(target, interruption.signal);
    row.symptom_before = before.text;
    process.stderr.write(`Symptom: ${before.text}\n`);

    if (interruption.requested) throw new Error('interrupted before the rollback ran');
    const { result } = await runRunbook({
      runbook,
      inputs: options.runbook ? {} : gameDay.inputs,
      options: {
        config: sandbox.config,
        yes: true,
        reason: `game day: ${name} against ${gameDay.fault}`,
        json: options.json ?? false,
        color: options.color ?? true,
        settle: SETTLE,
        // After the last step the metrics are sampled a little longer: the report shows the fault gone.
        observe: OBSERVE,
      },
      interruption,
      // A game day is decided by evidence alone: an inconclusive window fails it, nobody is asked.
      unattended: true,
      // Escalation and progress notifications on a rehearsal clock: a minute of a real run is a second.
      clockScale: 1 / 60,
      print: !options.json,
      // report.html only where it stays: without --keep the directory goes with the game day.
      charts: options.keep === true,
      footer: () => [
        options.keep
          ? `The sandbox stays in ${dir}.`
          : 'The sandbox, its database and this journal are removed after the game day (--keep keeps them).',
      ],
    });
    if (result.journal) row.timeline = runTimeline(readJournal(result.journal).events, readMetricsFile(result.journal).samples, isChange);
    Object.assign(row, {
      run_status: result.status,
      duration_ms: result.duration_ms,
      budget_ms: result.budget_ms,
      within_budget: result.within_budget,
      run: result,
    });

    if (result.status === 'interrupted') throw new Error('interrupted during the rollback');
    // Proof: a fresh window of live traffic after the run shows no errors.
    await sleep(PROOF_WINDOW_S * 1000 + 300, undefined, { signal: interruption.signal });
    const after = await errorsInWindow(target);
    const unhealthy = await healthProblem(target);
    if (unhealthy) after.text = `${after.text}; ${unhealthy}`;
    // The scenario's own proof (the database one: integrity, health, and every row the backup held).
    const proven = gameDay.prove ? await gameDay.prove({ dir, sandbox, api, prepared, result }) : { ok: true, text: '' };
    row.fault_gone = after.errors === 0 && after.requests > 0 && !unhealthy && proven.ok;
    row.proof = [after.text, proven.text].filter(Boolean).join('; ');
    row.window_proof = after.text;
    row.scenario_proof = proven.text || null;
    row.status = result.status === 'succeeded' && result.within_budget && row.fault_gone ? 'passed' : 'failed';
  } catch (error) {
    row.status = 'failed';
    row.note = interruption.requested ? 'interrupted: the game day was stopped and torn down' : messageOf(error);
  } finally {
    await target?.close();
    forget();
    await stopSandbox(dir);
    if (options.keep) {
      const again = `trimp-rollback sandbox start --dir ${dir}`;
      row.note = [
        row.note,
        `kept in ${dir}, stopped, its fault still injected (start it again: ${again}; clear the fault: trimp-rollback sandbox heal --dir ${dir}; remove it: rm -rf ${dir})`,
      ]
        .filter(Boolean)
        .join('; ');
    } else rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

interface Window {
  errors: number;
  requests: number;
  text: string;
}

/** The app's figures for the last seconds, from where its profile keeps them (the metrics endpoint, or api_logs). */
async function errorsInWindow(target: Target): Promise<Window> {
  const m = await target.profile.metrics(target, PROOF_WINDOW_S);
  return {
    errors: m.errors,
    requests: m.requests,
    text: `${m.errors} errors in ${m.requests} requests over ${PROOF_WINDOW_S} s (${(m.error_rate * 100).toFixed(0)}%)`,
  };
}

/** Waits (up to 10 s) until live traffic shows the fault, so the rehearsal starts from a real incident. */
async function waitForErrors(target: Target, signal: AbortSignal): Promise<Window> {
  let last: Window = { errors: 0, requests: 0, text: 'no traffic seen' };
  for (let i = 0; i < 40 && !signal.aborted; i++) {
    await sleep(250, undefined, { signal }).catch(() => undefined);
    // A release that fails its own health check is the symptom, whatever users see yet.
    const unhealthy = await healthProblem(target);
    if (unhealthy) return { errors: 1, requests: 0, text: unhealthy };
    try {
      last = await errorsInWindow(target);
      // Enough traffic to be a symptom, not a blip: the report's "before" rests on it too.
      if (last.errors > 0 && last.requests >= MIN_SYMPTOM_REQUESTS) return last;
    } catch (error) {
      return { errors: 1, requests: 0, text: messageOf(error) }; // the app itself is failing: that is the symptom
    }
  }
  return last;
}

/** Why /health is not healthy (judged by its body: the public app answers 200 regardless), or undefined when it is. */
async function healthProblem(target: Target): Promise<string | undefined> {
  try {
    const health = await readHealth(target.api);
    return health.healthy ? undefined : `/health answers ${health.problem}`;
  } catch (error) {
    return `/health: ${messageOf(error)}`;
  }
}

function renderScorecard(rows: ScoreRow[], engine: 'sqlite' | 'postgres'): string {
  const noteOf = (scenario: string) => {
    const gameDay = GAME_DAYS[scenario];
    return gameDay ? gameDayOn(gameDay, engine).note : undefined;
  };
  const header = ['scenario', 'fault', 'symptom before', 'run', 'time / budget', 'fault gone', 'verdict'];
  const table = rows.map((r) => [
    r.scenario,
    r.fault,
    r.symptom_before ?? '—',
    r.run_status ?? '—',
    r.duration_ms === null || r.budget_ms === null ? '—' : `${formatMs(r.duration_ms)} / ${formatMs(r.budget_ms)}`,
    // The window's figures in the table; the scenario's own proof goes under it (the table stays narrow).
    r.fault_gone === null ? '—' : `${r.fault_gone ? 'yes' : 'NO'}: ${r.window_proof ?? r.proof}`,
    r.status.toUpperCase(),
  ]);
  const notes = [
    ...rows.flatMap((r) => (r.status !== 'not possible' && noteOf(r.scenario) ? [`  ${r.scenario}: ${noteOf(r.scenario)}`] : [])),
    ...rows.filter((r) => r.scenario_proof).map((r) => `  ${r.scenario}: ${r.scenario_proof}`),
    ...rows.filter((r) => r.note).map((r) => `  ${r.scenario}: ${r.note}`),
  ];
  return `\nGame day scorecard\n${[...renderTable(header, table, { rule: true }), ...notes].join('\n')}\n`;
}

/** --html FILE: a path whose directory exists, checked before hours of game days, not after. */
function verifyWritableFile(flag: string, path: string): void {
  if (path.trim() === '') throw usageError('option-invalid', `${flag} needs a file name`, 'for example: --html scorecard.html');
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw usageError('option-invalid', `${flag}: the directory ${dir} does not exist`, 'give a file in an existing directory');
  if (existsSync(path) && !statSync(path).isFile()) throw usageError('option-invalid', `${flag}: ${path} is not a file`);
}

/** The scorecard page; a disk that refuses it is said, and the game days' verdict stands. */
async function writeScorecardPage(path: string, rows: ScoreRow[]): Promise<void> {
  try {
    const entries = rows.map((row) => ({ ...row, timeline: row.timeline }));
    // The tool's own commit (its checkout: dist/commands/ is two levels down), when it is one.
    const commit = await appCommit(fileURLToPath(new URL('../..', import.meta.url))).catch(() => null);
    writeOutputFile(path, await renderScorecardPage(entries, { generatedAt: new Date(), commit }), { mode: 0o644 });
    process.stderr.write(`Scorecard page: ${resolve(path)}\n`);
  } catch (error) {
    process.stderr.write(`warning: the scorecard page was not written to ${path}: ${messageOf(error)}\n`);
  }
}

/** Why a game day cannot run on this profile (its scenario changes the flag, which the app sets in code), or undefined. */
function cannotRehearse(name: string, profile: 'seed' | 'trainingmonkey'): string | undefined {
  const gameDay = GAME_DAYS[name];
  if (profile !== 'trainingmonkey' || !gameDay || (gameDay.scenario !== 'flag' && gameDay.scenario !== 'gradual')) return undefined;
  return 'the app sets its flags in code (its toggle persists nothing), so no flag rollback can be run there; its way back is the application rollback';
}

/** A game day's row before anything was proven: failed until its proof says otherwise. */
function unscoredRow(name: string, gameDay: GameDay, note: string | null): ScoreRow {
  return {
    scenario: name,
    fault: gameDay.fault,
    status: 'failed',
    symptom_before: null,
    run_status: null,
    duration_ms: null,
    budget_ms: null,
    within_budget: null,
    fault_gone: null,
    proof: null,
    window_proof: null,
    scenario_proof: null,
    note,
  };
}

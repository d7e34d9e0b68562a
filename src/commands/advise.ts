import { existsSync } from 'node:fs';
import { proposeFromSystem } from '../advice/evidence.js';
import { loadDecisionMatrix, type MatrixRow, SEVERITIES, type Severity } from '../advice/matrix.js';
import { loadConfig } from '../config/config.js';
import { type Choice, terminalAsker } from '../engine/confirm.js';
import { ExitCode, usageError } from '../errors.js';
import { formatMs } from '../report/format.js';
import { toJson } from '../report/output.js';
import { loadRunbook, resolveRunbookPath } from '../runbook/load.js';
import { profileNamed } from '../target/profiles/index.js';
import { connectTarget } from '../target/target.js';
import { commandLine, invocationOf, targetArgs } from './printed-commands.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';

export interface AdviseOptions extends RunCommandOptions {
  issue?: string;
  severity?: string;
  fromMetrics?: boolean;
}

/**
 * `trimp-rollback advise [--issue TYPE] [--severity LEVEL] [--from-metrics] [--json]`: the seed's
 * decision matrix answered: the scenario, the command that runs it (on this target), the seed's
 * time to execute and the runbook's budget. On a terminal without arguments it asks.
 */
export async function adviseCommand(options: AdviseOptions): Promise<CommandResult> {
  const rows = loadDecisionMatrix();
  const config = loadConfig(options);
  const severity = options.severity === undefined ? undefined : severityOf(options.severity);
  let evidence: string[] = [];
  let why: string | undefined;
  let row: MatrixRow | undefined;

  if (options.fromMetrics) {
    if (options.issue) throw usageError('advise-usage', 'give --issue or --from-metrics, not both');
    // Every instance: one that is down or failing is the incident, even when the first is fine.
    const target = connectTarget(config, 'api', { dryRun: true });
    try {
      const proposal = await proposeFromSystem(config, target);
      evidence = proposal.evidence;
      why = proposal.why;
      row = rows.find((r) => r.issue === proposal.issue);
    } finally {
      await target.close();
    }
    if (!row) return print(options, { row: undefined, why, evidence, rows, config });
  } else if (options.issue) {
    row = rows.find((r) => r.issue === options.issue);
    if (!row)
      throw usageError('advise-usage', `unknown issue type "${options.issue}"; issue types: ${rows.map((r) => r.issue).join(', ')}`);
  } else if (severity) {
    const matching = rows.filter((r) => r.severity === severity);
    if (matching.length === 1) row = matching[0];
    else if (matching.length === 0)
      throw usageError(
        'advise-usage',
        `no row of the matrix has severity ${severity}; severities: ${[...new Set(rows.map((r) => r.severity))].join(', ')}`,
      );
    else
      row = await ask(
        rows.filter((r) => r.severity === severity),
        `Severity ${severity} fits ${matching.length} rows: which issue is it?`,
      );
  } else row = await ask(rows, 'Which issue is it?');

  const note =
    row && severity && row.severity !== severity
      ? `the matrix lists ${row.title.toLowerCase()} at severity ${row.severity}, not ${severity}: its action stands; raise it with the escalation path if the impact is wider`
      : undefined;
  return print(options, { row, why, evidence, rows, config, ...(note ? { note } : {}) });
}

function severityOf(text: string): Severity {
  if ((SEVERITIES as readonly string[]).includes(text)) return text as Severity;
  throw usageError('advise-usage', `unknown severity "${text}"; severities: ${SEVERITIES.join(', ')}`);
}

/** On a terminal, a numbered choice; elsewhere, the flags that would have answered. */
async function ask(rows: MatrixRow[], question: string): Promise<MatrixRow> {
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw usageError(
      'advise-usage',
      'say which issue: --issue TYPE (or --from-metrics to read it off the system)',
      `issue types: ${rows.map((r) => `${r.issue} (${r.title}, ${r.severity})`).join('; ')}`,
    );
  const choices: Choice[] = rows.map((r, i) => ({
    key: String(i + 1),
    word: r.issue,
    meaning: `${r.title} (severity ${r.severity}): ${r.action}`,
  }));
  const answer = await terminalAsker(process.stdin, process.stderr).choose(question, [], choices);
  if (answer === 'interrupt') throw usageError('advise-usage', 'no issue chosen');
  return rows.find((r) => r.issue === answer) as MatrixRow;
}

interface Answer {
  row: MatrixRow | undefined;
  why: string | undefined;
  evidence: string[];
  rows: MatrixRow[];
  config: ReturnType<typeof loadConfig>;
  note?: string;
}

function print(options: AdviseOptions, answer: Answer): CommandResult {
  const { why, evidence, config, note: matrixNote } = answer;
  // A flag rollback on an app whose flags are set in code: the application rollback is the way there.
  const asked = answer.row;
  const refusal =
    asked && FLAG_RUNBOOKS.includes(asked.runbook)
      ? profileNamed(config.target.profile).flagChangeRefusal(config.target, 'api')
      : undefined;
  const instead = refusal ? answer.rows.find((r) => r.runbook === 'application') : undefined;
  const row = asked && instead ? { ...instead, issue: asked.issue, title: asked.title, severity: asked.severity } : asked;
  const runbook = row ? runbookFacts(row.runbook) : undefined;
  const words = refusal ? ['application'] : (row?.command ?? []);
  const command = row ? commandLine(['trimp-rollback', ...words, ...targetArgs(invocationOf(config, {}))]) : undefined;
  // The complete rollback is flag, application and database: without the flag, the other two.
  const database = asked?.runbook === 'complete' ? '; then, if the data must go back too, trimp-rollback database' : '';
  const note = refusal
    ? `the matrix says ${asked?.action.toLowerCase()}, but ${refusal.reason}; ${refusal.instead}${database}${matrixNote ? `; ${matrixNote}` : ''}`
    : matrixNote;
  if (options.json) {
    process.stdout.write(
      `${toJson({
        issue: row?.issue ?? null,
        title: row?.title ?? null,
        severity: row?.severity ?? null,
        action: row?.action ?? null,
        command: runbook?.exists ? command : null,
        time_to_execute: row?.time_to_execute ?? null,
        budget_ms: runbook?.budgetMs ?? null,
        runbook: runbook?.file ?? null,
        why: why ?? null,
        evidence,
        note: note ?? null,
      })}\n`,
    );
    return { exitCode: ExitCode.ok };
  }
  const out: string[] = [];
  if (evidence.length > 0) out.push('Evidence:', ...evidence.map((line) => `  ${line}`));
  if (why) out.push(`Reading: ${why}`);
  if (row) {
    out.push(
      `Issue:    ${row.title} (severity ${row.severity})`,
      `Action:   ${row.action}${runbook?.file ? ` (${runbook.file})` : ''}`,
      runbook?.exists ? `Command:  ${command}` : `Command:  none yet: runbook "${row.runbook}" does not exist`,
      `Time:     ${row.time_to_execute} (the seed's)${runbook?.budgetMs ? `; the runbook's budget: ${formatMs(runbook.budgetMs)}` : ''}`,
      `First:    ${runbook?.exists ? `${command} --dry-run` : 'follow the seed by hand'}`,
    );
  } else out.push('No row of the decision matrix fits: no rollback is advised.');
  if (note) out.push(`Note:     ${note}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return { exitCode: ExitCode.ok };
}

function runbookFacts(id: string): { exists: boolean; file?: string; budgetMs?: number } {
  try {
    const file = resolveRunbookPath(id);
    if (!existsSync(file)) return { exists: false };
    return { exists: true, file, budgetMs: loadRunbook(id).budgetMs };
  } catch {
    return { exists: false };
  }
}

/** Runbooks that change the flag: not on an app whose flags are set in code. */
const FLAG_RUNBOOKS = ['flag', 'gradual', 'complete'];

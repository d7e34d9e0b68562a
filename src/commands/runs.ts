import { loadConfig } from '../config/config.js';
import { toJson } from '../report/output.js';
import { renderTable } from '../report/table.js';
import { loadRuns, type RunRecord, startedAt } from './run-history.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';

/** `trimp-rollback runs list [--json]`: every run in the state directory, newest last. */
export async function runsList(options: RunCommandOptions): Promise<CommandResult> {
  const config = loadConfig(options);
  const { runs, damaged } = loadRuns(config.stateDir);
  const now = Date.now();
  const rows = runs.map((run) => rowOf(run, now));
  if (options.json) {
    process.stdout.write(`${toJson({ state_dir: config.stateDir, runs: rows, damaged })}\n`);
    return { exitCode: 0 };
  }
  if (rows.length === 0 && damaged.length === 0) {
    process.stdout.write(`no runs in ${config.stateDir}\n`);
    return { exitCode: 0 };
  }
  const header = ['run', 'status', 'runbook', 'target', 'age', 'reason'];
  const table = rows.map((r) => [
    r.run_id,
    r.status,
    r.runbook,
    r.via === 'db' ? r.database : r.base_url,
    formatAge(r.age_ms),
    r.reason ?? '',
  ]);
  const out = [`runs in ${config.stateDir}`, ...renderTable(header, table)];
  for (const d of damaged) out.push(`${d.id}: unreadable: ${d.problem}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return { exitCode: 0 };
}

export function rowOf(run: RunRecord, now: number) {
  const started = startedAt(run);
  return {
    run_id: run.id,
    status: run.status,
    runbook: run.started.runbook.id,
    via: run.started.via,
    base_url: run.target.base_url,
    database: run.target.database,
    operator: run.started.operator,
    reason: run.started.reason,
    started_at: started.toISOString(),
    age_ms: Math.max(0, now - started.getTime()),
    attempts: run.attempts,
  };
}

export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

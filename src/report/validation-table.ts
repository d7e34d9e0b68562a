import type { ChalkInstance } from 'chalk';
import type { CheckReport } from '../checks/run-checks.js';

const MARK = { pass: '✓', warn: '!', fail: '✗', skip: '-' } as const;
const GROUP_TITLES = {
  'system-health': 'System health',
  'user-experience': 'User experience',
  'data-integrity': 'Data integrity',
} as const;

/** The checklist as the seed lays it out, grouped, with a remedy under each warning or failure. */
export function renderValidationTable(reports: CheckReport[], c: ChalkInstance): string {
  const lines: string[] = [];
  const width = Math.max(...reports.map((r) => r.name.length));
  for (const group of Object.keys(GROUP_TITLES) as (keyof typeof GROUP_TITLES)[]) {
    const rows = reports.filter((r) => r.group === group);
    if (rows.length === 0) continue;
    lines.push(c.bold(GROUP_TITLES[group]));
    for (const r of rows) {
      const color = r.status === 'pass' ? c.green : r.status === 'fail' ? c.red : r.status === 'warn' ? c.yellow : c.dim;
      lines.push(
        `  ${color(MARK[r.status])} ${r.name.padEnd(width)}  ${color(r.status.padEnd(4))}  ${String(r.duration_ms).padStart(5)} ms  ${r.summary}`,
      );
      if (r.remedy && (r.status === 'fail' || r.status === 'warn')) lines.push(c.dim(`      → ${r.remedy}`));
    }
  }
  const count = (s: string) => reports.filter((r) => r.status === s).length;
  lines.push(`${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('skip')} skipped`);
  return `${lines.join('\n')}\n`;
}

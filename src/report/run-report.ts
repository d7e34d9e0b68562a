import { dirname, join } from 'node:path';
import type { RunResult } from '../engine/result.js';
import { againstBudget, formatMs } from './format.js';
import { toJson, writeOutputFile } from './output.js';

/** The seed's "Post-Rollback Analysis" questions, left for the team to answer in the report. */
export const ANALYSIS_QUESTIONS = [
  'What was the root cause of the issue?',
  'Could the issue have been prevented?',
  'Was the rollback procedure effective?',
  'What improvements can be made?',
  'How can we prevent similar issues?',
];

/**
 * Beside the journal, every real run leaves report.json (the result as --json prints it) and
 * report.md (for the incident channel and the post-mortem). Returns the Markdown path.
 */
export function writeRunReport(result: RunResult): string | undefined {
  if (!result.journal) return undefined;
  const dir = dirname(result.journal);
  writeOutputFile(join(dir, 'report.json'), `${toJson(result)}\n`, { mode: 0o600 });
  const path = join(dir, 'report.md');
  writeOutputFile(path, renderMarkdown(result), { mode: 0o600 });
  return path;
}

export function renderMarkdown(result: RunResult): string {
  const cell = (value: string) => value.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `# Rollback run ${result.run_id}`,
    '',
    `- Runbook: \`${result.runbook}\` (${result.runbook_file}), via ${result.via}`,
    `- Status: **${result.status}**`,
    `- Started ${result.started_at}, finished ${result.finished_at}`,
    `- Time to execute: ${againstBudget(result.duration_ms, result.budget_ms)}`,
    ...(result.resume_command ? [`- Resume with: \`${result.resume_command}\``] : []),
    ...(result.undo_command ? [`- Undo: \`${result.undo_command}\``] : []),
    '',
    '## Steps',
    '',
    '| step | kind | status | duration | result |',
    '|---|---|---|---|---|',
    ...result.steps.map(
      (s) => `| ${s.id} | ${s.rehearsal} | ${s.status} | ${s.duration_ms ? formatMs(s.duration_ms) : ''} | ${cell(s.summary)} |`,
    ),
  ];
  if (result.next_steps?.length) lines.push('', '## Next steps', '', ...result.next_steps.map((line) => `- ${line}`));
  const windows = result.steps.filter((s) => s.action === 'monitor' && s.evidence);
  if (windows.length > 0) {
    lines.push('', '## Monitoring windows', '', '| step | cohort | decision | decided by | why |', '|---|---|---|---|---|');
    for (const w of windows) {
      const e = w.evidence as { cohort?: string | null; decision?: string | null; decided_by?: string; fast?: boolean; reasons?: string[] };
      const decision = e.fast ? 'skipped (--fast)' : (e.decision ?? 'not judged');
      lines.push(`| ${w.id} | ${e.cohort ?? ''} | ${decision} | ${e.decided_by ?? ''} | ${cell((e.reasons ?? [w.summary]).join('; '))} |`);
    }
  }
  const before = result.steps.find((s) => s.action === 'flag.assess')?.evidence?.system_metrics;
  const checks = result.steps.find((s) => s.action === 'validate')?.evidence?.checks as
    | { name: string; status: string; summary: string }[]
    | undefined;
  if (before) lines.push('', '## Metrics before', '', '```json', JSON.stringify(before, null, 2), '```');
  if (checks) {
    lines.push('', '## Validation', '', '| check | status | result |', '|---|---|---|');
    for (const c of checks) lines.push(`| ${c.name} | ${c.status} | ${cell(c.summary)} |`);
  }
  const drafted = noticeOf(result);
  if (drafted) {
    const { notice, sending } = drafted;
    lines.push(
      '',
      '## Notice to users',
      '',
      `_${sending}_`,
      '',
      `> **${notice.title}**`,
      '>',
      ...notice.text.split('\n').map((l) => `> ${l}`.trimEnd()),
    );
  }
  lines.push('', '## Post-rollback analysis', '', ...ANALYSIS_QUESTIONS.flatMap((q) => [`### ${q}`, '', '_to be answered_', '']));
  return `${lines.join('\n')}\n`;
}

/** The run's notice to users (its draft step's), and what became of it (its send step's summary). */
export function noticeOf(result: RunResult): { notice: { title: string; text: string }; sending: string } | undefined {
  const draft = result.steps.find((s) => s.action === 'users.draft-notice');
  const notice = draft?.evidence?.notice as { title?: unknown; text?: unknown } | undefined;
  if (!notice || typeof notice.title !== 'string' || typeof notice.text !== 'string') return undefined;
  const send = result.steps.find((s) => s.action === 'users.notify');
  const sending = send ? `${send.status}: ${send.summary}` : 'drafted; this runbook does not send it';
  return { notice: { title: notice.title, text: notice.text }, sending };
}

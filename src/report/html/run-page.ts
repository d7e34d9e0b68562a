import { dirname } from 'node:path';
import type { RunResult } from '../../engine/result.js';
import { againstBudget, formatMs } from '../format.js';
import { ANALYSIS_QUESTIONS, noticeOf } from '../run-report.js';
import type { RunTimeline, SeriesPoint } from '../run-timeline.js';
import { METRIC_TITLES, type MetricName, metricSpec, timelineSpec } from './charts.js';
import { PAGE_STYLE } from './page-style.js';
import { escapeHtml as e, renderSvg } from './svg.js';

export interface RunPageInput {
  result: RunResult;
  timeline: RunTimeline;
  /** Validation's limits, drawn as the budget lines. */
  limits: { errorRate: number; p95Ms: number };
}

/**
 * report.html: one self-contained page (inline SVG and CSS, no script, no request) that shows a
 * run to people: the steps in time with the change marked, the error rate, p95 latency and
 * traffic per user type across it against validation's limits, before and after in figures,
 * validation, the notice to users, and the analysis questions.
 */
export async function renderRunPage({ result, timeline, limits }: RunPageInput): Promise<string> {
  const charts: string[] = [];
  if (timeline.steps.length > 0) charts.push(figure('timeline', 'Timeline of the steps', await renderSvg(timelineSpec(timeline))));
  if (timeline.points.length > 0) {
    const budgets: Partial<Record<MetricName, { value: number; label: string }>> = {
      error_rate: { value: limits.errorRate, label: `validation fails at ${(limits.errorRate * 100).toFixed(0)} %` },
      p95_ms: { value: limits.p95Ms, label: `validation limit ${limits.p95Ms} ms` },
    };
    for (const metric of ['error_rate', 'p95_ms', 'requests_per_s'] as const)
      charts.push(figure(metric.replace(/_/g, '-'), METRIC_TITLES[metric], await renderSvg(metricSpec(timeline, metric, budgets[metric]))));
  }
  const spans = new Set(timeline.points.map((p) => p.until)).size;
  const sampling =
    timeline.points.length === 0
      ? `<p class="missing">No metrics samples in this run${timeline.unreadable ? ` (${timeline.unreadable} could not be read)` : ' (sampling was off, or the app has no metrics endpoint)'}.</p>`
      : `<p class="muted">${plural(spans, 'point')}${timeline.merged ? ` (each merges up to ${timeline.merged} consecutive samples, for drawing)` : ''}${timeline.unreadable ? `; ${plural(timeline.unreadable, 'sample')} could not be read (the app down or without metrics)` : ''}. Each point is the figures over its span, drawn at the span's middle; "before" and "after" are spans wholly before or after the first change.</p>`;
  const body = [
    header(result),
    section('Across the change', [sampling, beforeAfter(timeline.points), ...charts].join('\n')),
    section('Steps', stepsTable(result)),
    monitoringWindows(result),
    validation(result),
    userNotice(result),
    result.next_steps?.length ? section('Next steps', `<ul>${result.next_steps.map((s) => `<li>${e(s)}</li>`).join('')}</ul>`) : '',
    section('Post-rollback analysis', ANALYSIS_QUESTIONS.map((q) => `<h3>${e(q)}</h3><p class="answer">to be answered</p>`).join('\n')),
    `<footer>Written by trimp-rollback from the run's journal${result.journal ? ` (${e(result.journal)})` : ''} and its metrics samples. Re-render with <code>${e(rerender(result))}</code>.</footer>`,
  ];
  return page(`Rollback run ${result.run_id}`, body.join('\n'));
}

export function page(title: string, body: string): string {
  // The policy forbids every fetch: the page can only show what it holds.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${PAGE_STYLE}</style></head>
<body>
${body}
</body></html>
`;
}

export function section(title: string, html: string): string {
  return `<section><h2>${e(title)}</h2>\n${html}\n</section>`;
}

export function figure(name: string, caption: string, svg: string): string {
  return `<figure class="chart" data-chart="${e(name)}"><figcaption>${e(caption)}</figcaption>${svg}</figure>`;
}

function header(r: RunResult): string {
  const facts = [
    ['Runbook', `${r.runbook} (${r.runbook_file}), via ${r.via}`],
    ['Started', `${r.started_at}, finished ${r.finished_at}`],
    ['Time to execute', againstBudget(r.duration_ms, r.budget_ms)],
    ...(r.resume_command ? [['Resume with', r.resume_command]] : []),
    ...(r.undo_command ? [['Undo', r.undo_command]] : []),
  ];
  return `<header><h1>Rollback run ${e(r.run_id)} <span class="status ${e(r.status)}">${e(r.status)}</span></h1>
<dl>${facts.map(([k, v]) => `<dt>${e(k ?? '')}</dt><dd>${k === 'Undo' || k === 'Resume with' ? `<code>${e(v ?? '')}</code>` : e(v ?? '')}</dd>`).join('')}</dl></header>`;
}

/** Per user type: errors and requests wholly before and wholly after the first change. */
function beforeAfter(points: SeriesPoint[]): string {
  if (!points.some((p) => p.phase === 'before' || p.phase === 'after')) return '';
  const slices = [...new Set(points.map((p) => p.slice))];
  const cell = (slice: string, phase: SeriesPoint['phase']) => {
    const chosen = points.filter((p) => p.slice === slice && p.phase === phase);
    const requests = chosen.reduce((n, p) => n + p.requests, 0);
    const errors = chosen.reduce((n, p) => n + p.errors, 0);
    if (chosen.length === 0) return '<td class="muted">not sampled</td>';
    return requests === 0
      ? '<td class="muted">no requests</td>'
      : `<td>${((errors / requests) * 100).toFixed(1)} % (${errors} of ${requests})</td>`;
  };
  return `<table class="before-after"><thead><tr><th>users</th><th>error rate before the change</th><th>after it</th></tr></thead><tbody>
${slices.map((s) => `<tr><th>${e(s)}</th>${cell(s, 'before')}${cell(s, 'after')}</tr>`).join('\n')}
</tbody></table>`;
}

function stepsTable(r: RunResult): string {
  const rows = r.steps.map(
    (s) =>
      `<tr class="${e(s.status)}"><td>${e(s.id)}</td><td>${e(s.rehearsal)}</td><td>${e(s.status)}</td><td>${s.duration_ms ? e(formatMs(s.duration_ms)) : ''}</td><td>${e(s.summary)}${(s.warnings ?? []).map((w) => `<div class="warning">${e(w)}</div>`).join('')}</td></tr>`,
  );
  return `<table><thead><tr><th>step</th><th>kind</th><th>status</th><th>duration</th><th>result</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function monitoringWindows(r: RunResult): string {
  const windows = r.steps.filter((s) => s.action === 'monitor' && s.evidence);
  if (windows.length === 0) return '';
  const rows = windows.map((w) => {
    const ev = w.evidence as { cohort?: string | null; decision?: string | null; decided_by?: string; fast?: boolean; reasons?: string[] };
    const decision = ev.fast ? 'skipped (--fast)' : (ev.decision ?? 'not judged');
    return `<tr><td>${e(w.id)}</td><td>${e(ev.cohort ?? '')}</td><td>${e(decision)}</td><td>${e(ev.decided_by ?? '')}</td><td>${e((Array.isArray(ev.reasons) ? ev.reasons : [w.summary]).join('; '))}</td></tr>`;
  });
  return section(
    'Monitoring windows',
    `<table><thead><tr><th>step</th><th>cohort</th><th>decision</th><th>decided by</th><th>why</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  );
}

function validation(r: RunResult): string {
  const checks = r.steps.find((s) => s.action === 'validate')?.evidence?.checks as
    | { name: string; status: string; summary: string }[]
    | undefined;
  if (!checks) return '';
  const rows = checks.map((c) => `<tr class="${e(c.status)}"><td>${e(c.name)}</td><td>${e(c.status)}</td><td>${e(c.summary)}</td></tr>`);
  return section(
    'Validation',
    `<table class="validation"><thead><tr><th>check</th><th>status</th><th>result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  );
}

function userNotice(r: RunResult): string {
  const drafted = noticeOf(r);
  if (!drafted) return '';
  const { notice, sending } = drafted;
  return section(
    'Notice to users',
    `<p class="muted">${e(sending)}</p><blockquote class="notice"><strong>${e(notice.title)}</strong>${notice.text
      .split('\n\n')
      .map((p) => `<p>${e(p)}</p>`)
      .join('')}</blockquote>`,
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The command that draws this page again, naming the run's state directory (where its journal is). */
function rerender(result: RunResult): string {
  const stateDir = result.journal ? dirname(dirname(dirname(result.journal))) : undefined;
  return `trimp-rollback report ${result.run_id} --html${stateDir ? ` --state-dir ${stateDir}` : ''}`;
}

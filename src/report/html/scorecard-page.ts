import { formatMs } from '../format.js';
import type { RunTimeline } from '../run-timeline.js';
import { smallErrorRateSpec } from './charts.js';
import { figure, page, section } from './run-page.js';
import { escapeHtml as e, renderSvg } from './svg.js';

/** One game day as the scorecard page shows it. */
export interface ScorecardEntry {
  scenario: string;
  fault: string;
  status: 'passed' | 'failed' | 'not possible';
  symptom_before: string | null;
  run_status: string | null;
  duration_ms: number | null;
  budget_ms: number | null;
  proof: string | null;
  note: string | null;
  /** The run's series and steps, when it got as far as a journal. */
  timeline: RunTimeline | undefined;
}

/**
 * `rehearse --html FILE`: the game days on one self-contained page, a row each with a small
 * chart of the error rate (all users) across the run, the change marked.
 */
export async function renderScorecardPage(entries: ScorecardEntry[], facts: { generatedAt: Date; commit: string | null }): Promise<string> {
  const rows: string[] = [];
  for (const entry of entries) {
    const chart = entry.timeline?.points.length
      ? figure(`scorecard-${entry.scenario}`, 'error rate, all users', await renderSvg(smallErrorRateSpec(entry.timeline)))
      : '<span class="muted">no samples</span>';
    const time =
      entry.duration_ms === null || entry.budget_ms === null ? '—' : `${formatMs(entry.duration_ms)} / ${formatMs(entry.budget_ms)}`;
    rows.push(
      `<tr class="${entry.status === 'passed' ? 'pass' : entry.status === 'failed' ? 'fail' : 'skip'}" data-scenario="${e(entry.scenario)}"><td><strong>${e(entry.scenario)}</strong><br><span class="muted">${e(entry.fault)}</span></td><td>${e(entry.symptom_before ?? '—')}</td><td>${e(entry.run_status ?? '—')}<br><span class="muted">${e(time)}</span></td><td>${e(entry.proof ?? '—')}${entry.note ? `<div class="warning">${e(entry.note)}</div>` : ''}</td><td>${chart}</td><td><span class="status ${entry.status.replace(' ', '-')}">${entry.status.toUpperCase()}</span></td></tr>`,
    );
  }
  const passed = entries.filter((x) => x.status === 'passed').length;
  // A scenario the app cannot have is listed with its reason, not counted.
  const possible = entries.filter((x) => x.status !== 'not possible');
  const body = [
    `<header><h1>Game day scorecard <span class="status ${passed === possible.length ? 'passed' : 'failed'}">${passed} of ${possible.length} passed</span></h1>
<p class="muted">Each game day: a throwaway sandbox under live traffic, the scenario's fault injected and seen, the rollback run for real, the fault proven gone. ${e(facts.generatedAt.toISOString())}${facts.commit ? `, trimp-rollback ${e(facts.commit)}` : ''}.</p></header>`,
    section(
      'Scenarios',
      `<table class="scorecard"><thead><tr><th>scenario</th><th>symptom before</th><th>run / time</th><th>proof</th><th>across the run</th><th>verdict</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
    ),
  ];
  return page('Game day scorecard', body.join('\n'));
}

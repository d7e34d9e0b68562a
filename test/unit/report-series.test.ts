import { describe, expect, it } from 'vitest';
import type { StampedEvent } from '../../src/engine/journal-events.js';
import type { MetricsLine } from '../../src/monitor/metrics-file.js';
import { draftUserNotice } from '../../src/notify/user-notice.js';
import { metricSpec, timelineSpec } from '../../src/report/html/charts.js';
import { escapeHtml, renderSvg } from '../../src/report/html/svg.js';
import { runTimeline } from '../../src/report/run-timeline.js';
import { errorRateOf, sparkline } from '../../src/report/sparkline.js';

/** Expected values here are worked out by hand from the inputs, never read off the code. */

describe('sparkline', () => {
  it('scales to the largest value, one bar per value, an unknown value as a space', () => {
    // top = max(0.05, 0.4) = 0.4; levels round(v / 0.4 * 7): 0 → 0, 0.1 → 1.75 → 2, 0.2 → 3.5 → 4, 0.4 → 7
    expect(sparkline([0, 0.1, 0.2, 0.4, null])).toBe('▁▃▅█ ');
  });
  it('does not draw noise as a full bar: below the floor (5 %) the scale stays at 5 %', () => {
    // top = 0.05; 0.001 → round(0.14) = 0 → ▁; 0.05 → 7 → █
    expect(sparkline([0.001, 0.05])).toBe('▁█');
    expect(sparkline([0, 0, 0])).toBe('▁▁▁');
  });
  it('keeps the last width values', () => {
    expect(sparkline([0.4, 0, 0, 0], { width: 2 })).toBe('▁▁');
  });
  it('a rate is errors over requests, none without requests', () => {
    expect(errorRateOf({ requests: 40, errors: 10 })).toBe(0.25);
    expect(errorRateOf({ requests: 0, errors: 0 })).toBeNull();
    expect(errorRateOf(undefined)).toBeNull();
  });
});

const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 3, 0, 0) + s * 1000).toISOString();
const slices = (requests: number, errors: number) => ({
  all: { requests, errors, p95_ms: 12 },
  regular: { requests: requests / 2, errors: errors / 2, p95_ms: 10 },
});
const samples: MetricsLine[] = [
  { from: at(-5), at: at(0), slices: slices(200, 100) },
  { from: at(0), at: at(1), slices: slices(40, 2) },
  { from: at(1), at: at(2), slices: slices(40, 0) },
  { from: at(2), at: at(3), slices: {}, error: 'HTTP 500' },
];
const events: StampedEvent[] = [
  { ts: at(0), type: 'run.started' } as unknown as StampedEvent,
  { ts: at(0.1), type: 'step.started', step: 'assess', index: 0, action: 'flag.assess', params: {}, attempt: 1 },
  { ts: at(0.2), type: 'step.finished', step: 'assess', status: 'succeeded', summary: '', duration_ms: 100 },
  { ts: at(0.3), type: 'step.started', step: 'set-flag', index: 1, action: 'flag.set', params: {}, attempt: 1 },
  { ts: at(0.5), type: 'step.finished', step: 'set-flag', status: 'succeeded', summary: '', duration_ms: 200 },
  { ts: at(0.6), type: 'run.finished', status: 'succeeded', duration_ms: 500 },
];
const isChange = (action: string) => action === 'flag.set';

describe('the run timeline read from a journal', () => {
  const t = runTimeline(events, samples, isChange);
  it('places the change at the end of the changing step, and each sample against it', () => {
    expect(t.changes).toEqual([{ step: 'set-flag', at: at(0.5) }]);
    const all = t.points.filter((p) => p.slice === 'all');
    // spans: [-5, 0] wholly before 0.5; [0, 1] across it; [1, 2] wholly after.
    expect(all.map((p) => p.phase)).toEqual(['before', 'across', 'after']);
    // drawn at the middle of their span: -2.5 s, 0.5 s, 1.5 s
    expect(all.map((p) => p.at)).toEqual([at(-2.5), at(0.5), at(1.5)]);
    // 100/200 = 0.5, 2/40 = 0.05, 0/40 = 0; 200 requests over 5 s = 40/s
    expect(all.map((p) => p.error_rate)).toEqual([0.5, 0.05, 0]);
    expect(all[0]?.requests_per_s).toBe(40);
  });
  it('counts the unreadable sample and draws nothing for it; the series goes on after the run ended', () => {
    expect(t.unreadable).toBe(1);
    expect(t.points.filter((p) => p.until === at(3))).toEqual([]);
    expect(t.endedAt).toBe(at(3));
  });
  it('merges consecutive samples for drawing beyond 600, never across the change, counts added up', () => {
    // 1,300 one-second samples after the change, 10 requests and 1 error each: merged 3 at a time (ceil(1300/600)).
    const many: MetricsLine[] = Array.from({ length: 1300 }, (_, i) => ({
      from: at(1 + i),
      at: at(2 + i),
      slices: { all: { requests: 10, errors: 1, p95_ms: i % 7 } },
    }));
    const u = runTimeline(events, [samples[0] as MetricsLine, ...many], isChange);
    expect(u.merged).toBe(3);
    // the before sample alone, then ceil(1300 / 3) = 434 merged points
    expect(u.points.filter((p) => p.phase === 'before')).toHaveLength(2);
    const after = u.points.filter((p) => p.phase === 'after' && p.slice === 'all');
    expect(after).toHaveLength(434);
    expect(after[0]).toMatchObject({ requests: 30, errors: 3, p95_ms: 2, from: at(1), until: at(4) });
    expect(after.reduce((n, p) => n + p.requests, 0)).toBe(13_000);
  });
  it('a changing step that found nothing to change is no change', () => {
    const noop = events.map((e) => (e.type === 'step.finished' && e.step === 'set-flag' ? { ...e, noop: true } : e));
    const u = runTimeline(noop, samples, isChange);
    expect(u.changes).toEqual([]);
    expect(new Set(u.points.map((p) => p.phase))).toEqual(new Set(['no change']));
  });
});

describe('charts', () => {
  it('render to SVG in Node with named marks: the samples, the change and the budget line', async () => {
    const t = runTimeline(events, samples, isChange);
    const svg = await renderSvg(metricSpec(t, 'error_rate', { value: 0.05, label: 'validation fails at 5 %' }));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('samples_marks');
    expect(svg).toContain('change_marks');
    expect(svg).toContain('budget_marks');
    // one point per slice per readable sample: 3 samples × 2 slices
    const points = svg.match(/aria-label="(before|after|across) · /g) ?? [];
    expect(points).toHaveLength(6);
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    const timeline = await renderSvg(timelineSpec(t));
    expect(timeline).toContain('steps_marks');
    expect(timeline).toContain('aria-label="set-flag: succeeded');
  });
  it('escapes text for HTML', () => {
    expect(escapeHtml(`<script>"x" & 'y'</script>`)).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
  });
});

describe('the notice to users', () => {
  const startedAt = new Date(Date.UTC(2026, 10, 29, 3, 10, 0));
  it('says what happened, what users may notice, and the resolution time: the start plus the budget, in UTC', () => {
    const notice = draftUserNotice({
      whatHappened: 'we are putting the previous version back',
      mayNotice: 'the app may be unavailable for a few minutes',
      startedAt,
      budgetMs: 15 * 60_000,
    });
    // 03:10 + 15 min = 03:25 UTC
    expect(notice.expected_resolution).toBe('2026-11-29T03:25:00.000Z');
    expect(notice.text).toContain('We are putting the previous version back. The app may be unavailable for a few minutes.');
    expect(notice.text).toContain('by 03:25 UTC on 29 Nov 2026 (within 15 min)');
    expect(notice.text).toContain('Your training data is safe.');
    expect(notice.text).toMatch(/Thank you for your patience/);
  });
  it('with a restore point, says the time the data goes back to instead of "safe"', () => {
    const notice = draftUserNotice({
      whatHappened: 'we are restoring the data from a backup.',
      mayNotice: 'the app will be unavailable',
      startedAt,
      budgetMs: 60 * 60_000,
      restorePoint: new Date(Date.UTC(2026, 10, 28, 23, 45, 0)),
    });
    expect(notice.text).toContain('as it was at 23:45 UTC on 28 Nov 2026');
    expect(notice.text).not.toContain('is safe');
    expect(notice.text).toContain('by 04:10 UTC on 29 Nov 2026 (within 60 min)');
  });
});

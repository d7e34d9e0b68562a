import type { TopLevelSpec } from 'vega-lite';
import type { RunTimeline, SeriesPoint } from '../run-timeline.js';

/**
 * The report's charts as Vega-Lite specs: pure data in, a spec out (rendered to SVG elsewhere).
 * Every time axis is UTC and shares the run's span, so the charts line up under the timeline.
 * Marks are named (`samples`, `change`, `budget`, `steps`): the page and its tests find them by
 * name, and each sample's aria-label says its phase against the change.
 */

const WIDTH = 640;
const SLICE_COLOURS = { domain: ['all', 'regular', 'beta', 'admin'], range: ['#555555', '#1f77b4', '#ff7f0e', '#2ca02c'] };
const STATUS_COLOURS = {
  domain: ['succeeded', 'warned', 'failed', 'skipped', 'declined', 'interrupted', 'running'],
  range: ['#4caf50', '#ffb300', '#e53935', '#9e9e9e', '#9e9e9e', '#8e24aa', '#90caf9'],
};
const TIME_AXIS = { format: '%H:%M:%S', title: 'time (UTC)', labelOverlap: true } as const;
const FINE_TIME_AXIS = { ...TIME_AXIS, format: '%H:%M:%S.%L' } as const;

export type MetricName = 'error_rate' | 'p95_ms' | 'requests_per_s';

export const METRIC_TITLES: Record<MetricName, string> = {
  error_rate: 'Error rate per user type',
  p95_ms: 'p95 latency per user type (ms)',
  requests_per_s: 'Requests per second per user type',
};

/** The span every chart shows: the run, and the samples that look back before it. */
export function timeDomain(t: RunTimeline): [string, string] {
  const times = [t.startedAt, t.endedAt, ...t.points.flatMap((p) => [p.from, p.until])];
  const sorted = times.map((x) => Date.parse(x)).sort((a, b) => a - b);
  return [new Date(sorted[0] ?? 0).toISOString(), new Date(sorted.at(-1) ?? 0).toISOString()];
}

function timeX(domain: [string, string]) {
  return { field: 'at', type: 'temporal', scale: { type: 'utc', domain }, axis: TIME_AXIS } as const;
}

/** Each change as a red rule with its step's name, on the chart's own time axis. */
function changeLayers(t: RunTimeline, domain: [string, string], x: object = timeX(domain)) {
  const changes = t.changes.map((c) => ({ at: c.at, label: `change: ${c.step}` }));
  if (changes.length === 0) return [];
  return [
    {
      name: 'change',
      data: { values: changes },
      mark: { type: 'rule', color: '#d32f2f', strokeWidth: 2 },
      encoding: { x, description: { field: 'label' } },
    },
    {
      data: { values: changes },
      mark: { type: 'text', color: '#d32f2f', align: 'left', dx: 3, baseline: 'top', y: 2, fontSize: 10 },
      encoding: { x, text: { field: 'label' } },
    },
  ];
}

/** The steps' own span, a little wider: a run of 100 ms is drawn as wide as one of an hour. */
function stepsDomain(t: RunTimeline): [string, string] {
  const start = Math.min(...t.steps.map((s) => Date.parse(s.start)));
  const end = Math.max(...t.steps.map((s) => Date.parse(s.end)), start + 100);
  const pad = (end - start) * 0.04;
  return [new Date(start - pad).toISOString(), new Date(end + pad).toISOString()];
}

/** Steps as bands on their own rows (on the steps' own time scale), the changes marked. */
export function timelineSpec(t: RunTimeline): TopLevelSpec {
  const domain = stepsDomain(t);
  const short = Date.parse(domain[1]) - Date.parse(domain[0]) < 10_000;
  const x = { field: 'at', type: 'temporal', scale: { type: 'utc', domain }, axis: short ? FINE_TIME_AXIS : TIME_AXIS } as const;
  const steps = t.steps.map((s) => ({
    step: s.id,
    start: s.start,
    // A step of a few milliseconds still shows as a sliver.
    end: new Date(Math.max(Date.parse(s.end), Date.parse(s.start) + (Date.parse(domain[1]) - Date.parse(domain[0])) / 400)).toISOString(),
    status: s.status,
    label: `${s.id}: ${s.status}, ${s.start.slice(11, 23)}–${s.end.slice(11, 23)} UTC`,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height: Math.max(60, steps.length * 18),
    layer: [
      {
        name: 'steps',
        data: { values: steps },
        mark: { type: 'bar', stroke: '#333', strokeWidth: 0.5 },
        encoding: {
          y: { field: 'step', type: 'nominal', sort: null, title: null },
          x: { ...x, field: 'start' },
          x2: { field: 'end' },
          color: { field: 'status', type: 'nominal', scale: STATUS_COLOURS, title: 'step' },
          description: { field: 'label' },
        },
      },
      ...changeLayers(t, domain, x),
    ],
  } as TopLevelSpec;
}

/**
 * One metric across the run, a line and a point per sample for each user type (and all users),
 * the change marked, and the budget line where there is one (validation's limit).
 */
export function metricSpec(t: RunTimeline, metric: MetricName, budget?: { value: number; label: string }, height = 170): TopLevelSpec {
  const domain = timeDomain(t);
  const values = t.points
    .filter((p) => p[metric] !== null)
    .map((p) => ({ at: p.at, slice: p.slice, value: p[metric], label: pointLabel(p, metric) }));
  const percent = metric === 'error_rate';
  // A limit far above every value would flatten the lines to the axis: then it is named in the
  // legend's place instead of drawn (the error rate's 5 % always is: its scale starts at 5 %).
  const top = Math.max(0, ...values.map((v) => v.value ?? 0));
  if (budget && !percent && budget.value > top * 3) budget = { ...budget, value: Number.NaN };
  const y = {
    field: 'value',
    type: 'quantitative',
    title: null,
    ...(percent
      ? { axis: { format: '.0%' }, scale: { domain: [0, Math.max(budget?.value ?? 0, ...values.map((v) => v.value ?? 0), 0.05)] } }
      : {}),
  };
  const budgetLayers =
    budget && Number.isNaN(budget.value)
      ? [
          {
            data: { values: [{ label: `${budget.label} (far above every value here)` }] },
            mark: { type: 'text', align: 'right', baseline: 'top', x: WIDTH - 2, y: 2, color: '#b71c1c', fontSize: 10 },
            encoding: { text: { field: 'label' } },
          },
        ]
      : budget
        ? [
            {
              name: 'budget',
              data: { values: [{ value: budget.value, label: budget.label }] },
              mark: { type: 'rule', strokeDash: [6, 4], color: '#b71c1c' },
              encoding: { y: { field: 'value', type: 'quantitative' }, description: { field: 'label' } },
            },
            {
              data: { values: [{ value: budget.value, label: budget.label }] },
              mark: { type: 'text', align: 'right', x: WIDTH - 2, dy: -6, color: '#b71c1c', fontSize: 10 },
              encoding: { y: { field: 'value', type: 'quantitative' }, text: { field: 'label' } },
            },
          ]
        : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height,
    layer: [
      {
        name: 'lines',
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: timeX(domain),
          y,
          color: { field: 'slice', type: 'nominal', scale: SLICE_COLOURS, title: 'users' },
        },
      },
      {
        name: 'samples',
        data: { values },
        mark: { type: 'point', filled: true, size: 28 },
        encoding: {
          x: timeX(domain),
          y,
          color: { field: 'slice', type: 'nominal', scale: SLICE_COLOURS, title: 'users' },
          description: { field: 'label' },
        },
      },
      ...budgetLayers,
      ...changeLayers(t, domain),
    ],
  } as TopLevelSpec;
}

/** A small all-users error-rate chart for a scorecard row: no legend, no titles, the change marked. */
export function smallErrorRateSpec(t: RunTimeline): TopLevelSpec {
  const small: RunTimeline = { ...t, points: t.points.filter((p) => p.slice === 'all') };
  const spec = metricSpec(small, 'error_rate', undefined, 70) as unknown as { layer: { mark: { type: string } }[] };
  return {
    ...spec,
    width: 240,
    // The change's text label would cover a chart this small: the rule alone marks it.
    layer: spec.layer.filter((layer) => layer.mark.type !== 'text'),
    config: { legend: { disable: true }, axis: { title: null, labelFontSize: 9 } },
  } as unknown as TopLevelSpec;
}

/** "before · regular · 11:48:37.1 · 50.0 % of 40": what a screen reader (and the page's test) reads. */
function pointLabel(p: SeriesPoint, metric: MetricName): string {
  const value = p[metric] ?? 0;
  const shown =
    metric === 'error_rate' ? `${(value * 100).toFixed(1)} %` : metric === 'p95_ms' ? `${value.toFixed(1)} ms` : `${value.toFixed(1)}/s`;
  return `${p.phase} · ${p.slice} · ${p.at.slice(11, 21)} · ${shown} of ${p.requests} requests (${p.source})`;
}

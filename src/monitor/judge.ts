import { USER_TYPES } from '../target/user-types.js';
import { type Condition, describeCondition, formatValue, METRICS, type MetricName } from './conditions.js';

/** One slice (all users, or one user type) of one sample. */
export interface SliceFigures {
  requests: number;
  errors: number;
  p95_ms: number;
  /** Absent when the app does not count TRIMP calculations. */
  calculations?: number;
  failures?: number;
}

/** What one look at the metrics (and the error log) saw over the last interval. */
export interface Sample {
  at: string;
  /** Figures by slice: "all", and each user type when the app gives per-type figures. */
  slices: Record<string, SliceFigures>;
  /** Error-log lines in the interval, by the pattern that counted them ("" counts every line). */
  log_errors?: Record<string, number>;
  /** Why this sample could not be read; it then counts as no evidence. */
  error?: string;
}

export type Verdict = 'holds' | 'breached' | 'unknown';
export type Decision = 'recovered' | 'failing' | 'inconclusive';

/** One condition judged on one slice, over the whole window and over its recent half. */
export interface Finding {
  condition: string;
  metric: MetricName;
  slice: string;
  value: number | null;
  evidence: number;
  verdict: Verdict;
  recent: Verdict;
  recent_value: number | null;
  /** The figure this condition needs is missing from the samples: no traffic would change that. */
  unreported?: true;
  text: string;
}

export interface Judgement {
  decision: Decision;
  /** Why, in sentences an operator can act on. */
  reasons: string[];
  findings: Finding[];
}

/**
 * The window's verdict:
 * - failing: a condition is breached and the recent half of the window does not contradict it
 *   (breached there too, or too little traffic there to say);
 * - recovered: every condition holds on every slice, each on enough evidence;
 * - inconclusive: otherwise: too little traffic for some slice, or mixed (breached over the
 *   window but holding in its recent half: improving, but not yet shown to hold).
 */
export function judgeWindow(conditions: Condition[], samples: Sample[]): Judgement {
  const read = samples.filter((s) => !s.error);
  const recent = read.slice(Math.floor(read.length / 2));
  const findings = conditions.flatMap((condition) => slicesFor(condition, read).map((slice) => judge(condition, slice, read, recent)));
  const failing = findings.filter((f) => f.verdict === 'breached' && f.recent !== 'holds');
  const improving = findings.filter((f) => f.verdict === 'breached' && f.recent === 'holds');
  const unknown = findings.filter((f) => f.verdict === 'unknown');
  const unread = samples.length - read.length;
  const unreadNote =
    unread > 0 ? [`${unread} of ${samples.length} samples could not be read (${samples.find((s) => s.error)?.error})`] : [];

  if (failing.length > 0) return { decision: 'failing', reasons: [...failing.map((f) => f.text), ...unreadNote], findings };
  if (improving.length === 0 && unknown.length === 0 && read.length > 0)
    return { decision: 'recovered', reasons: [holdingEverywhere(conditions, findings), ...unreadNote], findings };
  const reasons = [
    ...improving.map((f) => `mixed: ${f.text}, but ${formatValue(f.metric, f.recent_value ?? 0)} in the recent half`),
    ...(read.length === 0
      ? []
      : tooLittleTraffic(
          conditions,
          unknown.filter((f) => !f.unreported),
        )),
    ...new Set(
      unknown
        .filter((f) => f.unreported && read.length > 0)
        .map((f) => `cannot judge ${METRICS[f.metric].label}${f.slice === 'all' ? '' : ' per user type'}: not reported in every sample`),
    ),
    ...(read.length === 0 ? ['no sample could be read'] : []),
    ...unreadNote,
  ];
  return { decision: 'inconclusive', reasons, findings };
}

/** "too little traffic to judge admin (3 requests), beta (0): 20 requests needed" (one line per kind of evidence). */
function tooLittleTraffic(conditions: Condition[], unknown: Finding[]): string[] {
  const lines = new Map<string, string[]>();
  for (const f of unknown) {
    const condition = conditions.find((c) => describeCondition(c) === f.condition);
    const need = `${condition?.min_requests ?? '?'} ${METRICS[f.metric].evidence}`;
    const who = `${f.slice === 'all' ? 'all users' : f.slice} (${f.evidence})`;
    const list = lines.get(need) ?? [];
    if (!list.includes(who)) list.push(who);
    lines.set(need, list);
  }
  return [...lines].map(([need, who]) => `too little traffic to judge ${who.join(', ')}: ${need} needed in the window`);
}

/** "every condition holds for admin (32 requests), beta (50), regular (78): error rate ≤ 2.0%, …". */
function holdingEverywhere(conditions: Condition[], findings: Finding[]): string {
  const slices = [...new Set(findings.map((f) => f.slice))];
  const requests = slices.map((slice, i) => {
    const n = Math.max(...findings.filter((f) => f.slice === slice && METRICS[f.metric].evidence === 'requests').map((f) => f.evidence), 0);
    return `${slice === 'all' ? 'all users' : slice} (${n}${i === 0 ? ' requests' : ''})`;
  });
  const limits = conditions.map((c) => `${METRICS[c.metric].label} ≤ ${formatValue(c.metric, c.max)}`);
  return `every condition holds for ${requests.join(', ')}: ${limits.join(', ')}`;
}

/** Per user type when the samples have per-type figures; otherwise over all users. */
function slicesFor(condition: Condition, samples: Sample[]): string[] {
  if (condition.per === 'all' || condition.metric === 'log_errors') return ['all'];
  const perType = samples.some((s) => USER_TYPES.some((type) => s.slices[type]));
  return perType || samples.length === 0 ? [...USER_TYPES] : ['all'];
}

function judge(condition: Condition, slice: string, window: Sample[], recent: Sample[]): Finding {
  const whole = measure(condition, slice, window);
  const late = measure(condition, slice, recent);
  if (whole.unreported)
    return {
      condition: describeCondition(condition),
      metric: condition.metric,
      slice,
      value: null,
      evidence: 0,
      verdict: 'unknown',
      recent: 'unknown',
      recent_value: null,
      unreported: true,
      text: `${slice === 'all' ? 'all users' : slice}: ${METRICS[condition.metric].label} is not reported in every sample`,
    };
  const verdictOf = (m: Measure): Verdict =>
    m.value === null || m.evidence < condition.min_requests ? 'unknown' : m.value <= condition.max ? 'holds' : 'breached';
  const verdict = verdictOf(whole);
  const spec = METRICS[condition.metric];
  const who = slice === 'all' ? 'all users' : slice;
  const value = whole.value === null ? 'not reported' : formatValue(condition.metric, whole.value);
  const label = condition.pattern ? `${spec.label} matching /${condition.pattern}/` : spec.label;
  const text =
    verdict === 'unknown'
      ? `${who}: ${label} ${value} on ${whole.evidence} ${spec.evidence} (needs ${condition.min_requests})`
      : `${who}: ${label} ${value} on ${whole.evidence} ${spec.evidence} (${verdict === 'holds' ? 'within' : 'above'} ${formatValue(condition.metric, condition.max)})`;
  return {
    condition: describeCondition(condition),
    metric: condition.metric,
    slice,
    value: whole.value,
    evidence: whole.evidence,
    verdict,
    recent: verdictOf(late),
    recent_value: late.value,
    text,
  };
}

interface Measure {
  value: number | null;
  evidence: number;
  /** The app does not report what this condition needs (TRIMP counts, an error log). */
  unreported?: true;
}

/** The figure over a run of samples: counts are summed; p95 is the request-weighted mean of each sample's p95. */
function measure(condition: Condition, slice: string, samples: Sample[]): Measure {
  // A sample without this slice (per-type figures missing that time) cannot be counted as zero.
  if (samples.some((s) => !s.slices[slice])) return { value: null, evidence: 0, unreported: true };
  const parts = samples.map((s) => s.slices[slice] as SliceFigures);
  const sum = (pick: (f: SliceFigures) => number) => parts.reduce((total, f) => total + pick(f), 0);
  const requests = sum((f) => f.requests);
  switch (condition.metric) {
    case 'error_rate':
      return { value: requests ? sum((f) => f.errors) / requests : null, evidence: requests };
    case 'p95_latency_ms':
      return { value: requests ? sum((f) => f.p95_ms * f.requests) / requests : null, evidence: requests };
    case 'trimp_failure_rate': {
      if (parts.some((f) => f.calculations === undefined || f.failures === undefined))
        return { value: null, evidence: 0, unreported: true };
      const calculations = sum((f) => f.calculations ?? 0);
      return { value: calculations ? sum((f) => f.failures ?? 0) / calculations : null, evidence: calculations };
    }
    case 'log_errors': {
      const key = condition.pattern ?? '';
      if (samples.some((s) => s.log_errors?.[key] === undefined)) return { value: null, evidence: 0, unreported: true };
      return { value: samples.reduce((total, s) => total + (s.log_errors?.[key] ?? 0), 0), evidence: requests };
    }
  }
}

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT } from '../helpers/cli.js';
import { journalEvents } from '../helpers/processes.js';

/**
 * report.html of a real game day (the flag rollback against trimp-errors), opened in headless
 * Chromium (Debian's) and judged from the rendered page: each chart has its marks, the change
 * marker lies between the samples before and after it, no request leaves the file. The figures
 * are checked against the journal, independently of the code that drew them.
 */
const CHROMIUM = '/usr/bin/chromium';
const required = process.env.TRIMP_REQUIRE_BROWSER === '1';
const available = existsSync(CHROMIUM);
if (required && !available) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
const ARTIFACTS = join(ROOT, 'test-artifacts');
// Without a browser (a developer machine), said in the test name rather than failed; CI requires it.
const browserIt = available ? it : it.skip;

let work: string;
let journal: string;
let scorecard: string;
let browser: Browser | undefined;

beforeAll(async () => {
  work = join(tmpdir(), `trimp-report-html-${process.pid}`);
  mkdirSync(work, { recursive: true });
  scorecard = join(work, 'scorecard.html');
  const result = await cli(['rehearse', 'flag', '--keep', '--json', '--html', scorecard], { timeoutMs: 120_000 });
  expect(result.exitCode, result.stderr).toBe(0);
  const run = jsonOf<{ scenarios: { status: string; run: { journal: string }; note: string }[] }>(result).scenarios[0];
  expect(run?.status).toBe('passed');
  journal = run?.run.journal as string;
  if (available)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // The flags that keep Chromium off the network of its own accord (updates, sync, metrics).
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  const kept = journal ? dirname(dirname(dirname(dirname(journal)))) : undefined;
  if (kept?.includes('trimp-gameday-')) rmSync(kept, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('metrics sampled across the flag game day', () => {
  it('show the fault before the change and next to no errors after it', () => {
    const events = journalEvents(journal);
    const change = events.find((e) => e.type === 'step.finished' && e.step === 'set-flag')?.ts as string;
    // The run's metrics file, read here line by line (not through the code that drew the page).
    const samples = readFileSync(join(dirname(journal), 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { from: string; at: string; error?: string; slices: { all: { requests: number; errors: number } } },
      )
      .filter((s) => !s.error);
    const before = samples.filter((s) => s.at <= change).map((s) => s.slices.all);
    const after = samples.filter((s) => s.from >= change).map((s) => s.slices.all);
    const rate = (xs: { requests: number; errors: number }[]) =>
      xs.reduce((n, x) => n + x.errors, 0) /
      Math.max(
        1,
        xs.reduce((n, x) => n + x.requests, 0),
      );
    expect(before.length).toBeGreaterThanOrEqual(1);
    // The sandbox's trimp-errors fault fails about half of the TRIMP requests of every cohort.
    expect(before.reduce((n, x) => n + x.requests, 0)).toBeGreaterThanOrEqual(20);
    expect(rate(before)).toBeGreaterThan(0.2);
    // --observe 3s in the game day: at least two whole samples after the change, with traffic.
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(after.reduce((n, x) => n + x.requests, 0)).toBeGreaterThanOrEqual(40);
    expect(rate(after)).toBeLessThanOrEqual(0.02);
    // Observed after the run's end (its journal closed): samples reach about 3 s past it.
    const finished = events.find((e) => e.type === 'run.finished')?.ts as string;
    expect(Date.parse(samples.at(-1)?.at ?? '') - Date.parse(finished)).toBeGreaterThanOrEqual(2500);
  });
});

describe('report.html in headless Chromium', () => {
  browserIt('every chart has its marks, the change sits between the before and after samples, nothing is fetched', async () => {
    const file = join(dirname(journal), 'report.html');
    const page = await (browser as Browser).newPage({ viewport: { width: 1000, height: 900 } });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url);
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => ({
        name: f.getAttribute('data-chart'),
        marks: f.querySelectorAll('g.role-mark path, g.role-mark line, g.role-mark rect').length,
      })),
    );
    expect(charts.map((c) => c.name)).toEqual(['timeline', 'error-rate', 'p95-ms', 'requests-per-s']);
    for (const chart of charts) expect(chart.marks, chart.name ?? '').toBeGreaterThan(0);

    for (const name of ['error-rate', 'p95-ms', 'requests-per-s']) {
      const geometry = await page.$eval(`figure[data-chart="${name}"]`, (figure) => {
        const rule = figure.querySelector('g.change_marks line');
        const points = [...figure.querySelectorAll('g.samples_marks path')].map((p) => ({
          label: p.getAttribute('aria-label') ?? '',
          x: p.getBoundingClientRect().left + p.getBoundingClientRect().width / 2,
        }));
        return { rule: rule ? rule.getBoundingClientRect().left : null, points };
      });
      expect(geometry.rule, name).not.toBeNull();
      const before = geometry.points.filter((p) => p.label.startsWith('before'));
      const after = geometry.points.filter((p) => p.label.startsWith('after'));
      expect(before.length, name).toBeGreaterThan(0);
      expect(after.length, name).toBeGreaterThan(0);
      for (const p of before) expect(p.x, `${name}: ${p.label}`).toBeLessThan(geometry.rule as number);
      for (const p of after) expect(p.x, `${name}: ${p.label}`).toBeGreaterThan(geometry.rule as number);
    }
    // The budget line (validation's limit) is drawn on the error-rate chart.
    expect(await page.$$eval('figure[data-chart="error-rate"] g.budget_marks line', (l) => l.length)).toBe(1);
    expect(await page.textContent('body')).toContain('Post-rollback analysis');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report-flag-game-day.png'), fullPage: true });
    // Only the page itself was loaded: no script, font, image or beacon went anywhere.
    expect(requests).toEqual([url]);
    expect(readFileSync(file, 'utf8')).not.toMatch(/\b(src|href)="https?:/);
    await page.close();
  });

  browserIt('the scorecard page has the game day as a row with its small chart', async () => {
    const page = await (browser as Browser).newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(scorecard).href);
    const rows = await page.$$eval('table.scorecard tbody tr', (trs) =>
      trs.map((tr) => ({
        scenario: tr.getAttribute('data-scenario'),
        marks: tr.querySelectorAll('g.samples_marks path').length,
        verdict: tr.querySelector('.status')?.textContent,
      })),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.scenario).toBe('flag');
    expect(rows[0]?.verdict).toBe('PASSED');
    expect(rows[0]?.marks).toBeGreaterThanOrEqual(3);
    expect(requests).toHaveLength(1);
    await page.screenshot({ path: join(ARTIFACTS, 'scorecard-flag.png'), fullPage: true });
    await page.close();
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
// @ts-expect-error: a plain ES module shared with the runner (test/reliability/run.mjs)
import { renderTable } from '../reliability/table.mjs';

/**
 * docs/RELIABILITY.md is claims: they must be exactly what a run of `npm run test:reliability`
 * counted (docs/reliability.json, written by that run), at a commit of this history.
 */
interface Part {
  family: string;
  part: string;
  cases: number;
  held: number;
  failed: string[];
}
interface Report {
  generated_at: string;
  commit: string;
  mode: 'full' | 'sample';
  seeds: { crash: number; fuzz: number };
  parts: Part[];
}

const json = `${ROOT}docs/reliability.json`;
const page = `${ROOT}docs/RELIABILITY.md`;

describe('the reliability table', () => {
  it('is the rendering of the counts a run wrote, at a commit of this history, and claims no more than they say', () => {
    expect(existsSync(json) && existsSync(page), 'docs/reliability.json and docs/RELIABILITY.md come from npm run test:reliability').toBe(
      true,
    );
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(readFileSync(page, 'utf8')).toBe(renderTable(report));
    // The run's commit is this one or an ancestor: the counts are of code that is here.
    execFileSync('git', ['merge-base', '--is-ancestor', report.commit, 'HEAD'], { cwd: ROOT });
    expect(report.parts.length).toBeGreaterThan(0);
    for (const part of report.parts) {
      expect(Number.isInteger(part.cases) && part.cases > 0, part.part).toBe(true);
      expect(part.held, part.part).toBeLessThanOrEqual(part.cases);
      // Every case that did not hold is listed with what replays it.
      if (part.held < part.cases) expect(part.failed.length, part.part).toBeGreaterThan(0);
    }
    if (report.mode === 'full') {
      const fuzz = report.parts.filter((p) => p.family === 'fuzz').reduce((n, p) => n + p.cases, 0);
      expect(fuzz).toBeGreaterThanOrEqual(10_000);
    }
  });
});

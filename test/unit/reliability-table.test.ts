import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';
// @ts-expect-error: a plain ES module shared with the runner (test/reliability/run.mjs)
import { FAMILIES, renderTable } from '../reliability/table.mjs';

/**
 * docs/RELIABILITY.md is claims: they must be exactly what runs of `npm run test:reliability`
 * counted (docs/reliability.json, written by those runs), each family at a commit of this history.
 */
interface Part {
  family: string;
  part: string;
  cases: number;
  held: number;
  failed: string[];
}
interface FamilyRun {
  family: string;
  mode: 'full' | 'sample';
  seed: number;
  commit: string;
  started_at: string;
  parts: Part[];
}

const json = `${ROOT}docs/reliability.json`;
const page = `${ROOT}docs/RELIABILITY.md`;

describe('the reliability table', () => {
  it('is the rendering of the counts the runs wrote, each at a commit of this history, and claims no more than they say', () => {
    expect(existsSync(json) && existsSync(page), 'docs/reliability.json and docs/RELIABILITY.md come from npm run test:reliability').toBe(
      true,
    );
    const report = JSON.parse(readFileSync(json, 'utf8')) as { families: FamilyRun[] };
    expect(readFileSync(page, 'utf8')).toBe(renderTable(report));
    expect(report.families.length).toBeGreaterThan(0);
    for (const run of report.families) {
      expect((FAMILIES as string[][]).map(([name]) => name)).toContain(run.family);
      // The run's commit is this one or an ancestor: the counts are of code that is here.
      execFileSync('git', ['merge-base', '--is-ancestor', run.commit, 'HEAD'], { cwd: ROOT });
      expect(Number.isNaN(Date.parse(run.started_at)), run.family).toBe(false);
      expect(run.parts.length, run.family).toBeGreaterThan(0);
      for (const part of run.parts) {
        expect(part.family).toBe(run.family);
        expect(Number.isInteger(part.cases) && part.cases > 0, part.part).toBe(true);
        expect(part.held, part.part).toBeLessThanOrEqual(part.cases);
        // Every case that did not hold is listed with what replays it.
        if (part.held < part.cases) expect(part.failed.length, part.part).toBeGreaterThan(0);
      }
      if (run.family === 'fuzz' && run.mode === 'full') expect(run.parts.reduce((n, p) => n + p.cases, 0)).toBeGreaterThanOrEqual(10_000);
    }
  });
});

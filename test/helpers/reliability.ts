import { appendFileSync } from 'node:fs';

/**
 * What a reliability family proved, for the table (`npm run test:reliability` sets
 * TRIMP_RELIABILITY_OUT; elsewhere nothing is written). The counts come from the run itself:
 * the table is never typed by hand.
 */
export interface FamilyResult {
  family: string;
  /** The part of the family: "database --yes, SQLite", "the journal reader". */
  part: string;
  /** Names the part across its planned and recorded lines when the part's text carries figures. */
  key?: string;
  cases: number;
  held: number;
  /** How to replay each case that did not hold: its seed, and what else names it. */
  failed: string[];
}

function write(line: object): void {
  const file = process.env.TRIMP_RELIABILITY_OUT;
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}

export function recordCases(result: FamilyResult): void {
  write(result);
}

/**
 * Says, before a part runs, that it will and how many cases it asks for: a part that then never
 * records (a timeout, a killed run, a failed setup) is shown as not finished, never left out.
 */
export function planCases(plan: { family: string; part: string; key?: string; cases: number }): void {
  write({ planned: true, ...plan });
}

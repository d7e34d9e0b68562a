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
  cases: number;
  held: number;
  /** How to replay each case that did not hold: its seed, and what else names it. */
  failed: string[];
}

export function recordCases(result: FamilyResult): void {
  const file = process.env.TRIMP_RELIABILITY_OUT;
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
}

import { createHash } from 'node:crypto';
import { messageOf } from '../errors.js';
import type { SqlDatabase } from '../target/database.js';
import type { Target } from '../target/target.js';

/** What "historical data intact" and "schema consistent" compare with, recorded before a change. */
export interface Baseline {
  recorded_at: string;
  row_counts: Record<string, number>;
  newest_activity: string | null;
  schema_hash: string;
  error_rate: number | null;
}

export const COUNTED_TABLES = ['activities', 'hr_streams', 'user_settings', 'feature_flags'] as const;

export async function schemaHash(db: SqlDatabase): Promise<string> {
  const rows = await db.schemaObjects();
  const text = rows.map((r) => `${r.type} ${r.name} ${(r.sql ?? '').replace(/\s+/g, ' ').trim()}`).join('\n');
  return createHash('sha256').update(text).digest('hex');
}

/** The counted tables the database has (the public app keeps its flags in code: no feature_flags). */
export async function rowCounts(db: SqlDatabase): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const tables = await db.tableNames();
  for (const table of COUNTED_TABLES.filter((t) => tables.includes(t))) {
    const [row] = await db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = row?.n ?? 0;
  }
  return counts;
}

export async function newestActivity(db: SqlDatabase): Promise<string | null> {
  const [row] = await db.all<{ newest: string | null }>('SELECT MAX(date) AS newest FROM activities');
  return row?.newest ?? null;
}

/** Reads the baseline (read-only). Whatever cannot be read is recorded as such, not guessed. */
export async function captureBaseline(target: Target): Promise<Baseline | { unavailable: string }> {
  let db: SqlDatabase | undefined;
  try {
    db = await target.openDatabase({ readonly: true });
    const [row_counts, newest_activity, schema_hash] = [await rowCounts(db), await newestActivity(db), await schemaHash(db)];
    let error_rate: number | null = null;
    try {
      error_rate = (await target.profile.metrics(target, 60)).error_rate;
    } catch {
      // The app may be down; the data part of the baseline still counts.
    }
    return { recorded_at: new Date().toISOString(), row_counts, newest_activity, schema_hash, error_rate };
  } catch (error) {
    return { unavailable: messageOf(error) };
  } finally {
    await db?.close();
  }
}

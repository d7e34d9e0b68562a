import Database from 'better-sqlite3';
import { isUserType, type UserType } from '../target/user-types.js';
import { HttpError } from './http.js';

export type FlagTable = Record<string, Partial<Record<UserType, boolean>>>;
export interface UserRow {
  id: number;
  user_type: UserType;
  resting_hr: number;
  max_hr: number;
  gender: string;
}
export interface NewActivity {
  userId: number;
  date: string;
  durationMin: number;
  avgHr: number;
  trimp: number;
  method: 'average' | 'stream';
  stream: number[] | undefined;
}

/**
 * The app's database connection. It can be reopened (after an injected fault damaged the file,
 * the app should see the damage, not its page cache). The flag is read on every request.
 */
export class SandboxStore {
  private connection: Database.Database;

  constructor(readonly path: string) {
    this.connection = SandboxStore.open(path);
  }

  private static open(path: string): Database.Database {
    const db = new Database(path, { fileMustExist: true, timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  }

  get db(): Database.Database {
    return this.connection;
  }

  reopen(): void {
    this.connection.close();
    this.connection = SandboxStore.open(this.path);
  }

  close(): void {
    if (this.connection.open) this.connection.close();
  }

  flags(): FlagTable {
    const out: FlagTable = {};
    for (const row of this.db.prepare('SELECT name, user_type, enabled FROM feature_flags').all() as {
      name: string;
      user_type: string;
      enabled: number;
    }[]) {
      if (isUserType(row.user_type)) out[row.name] = { ...out[row.name], [row.user_type]: row.enabled === 1 };
    }
    return out;
  }

  flag(name: string): Partial<Record<UserType, boolean>> {
    const states = this.flags()[name];
    if (!states) throw new HttpError(404, `Unknown feature flag: ${name}`);
    return states;
  }

  setFlag(name: string, types: readonly UserType[], enabled: boolean, actor: string): void {
    const update = this.db.prepare('UPDATE feature_flags SET enabled = ?, updated_at = ?, updated_by = ? WHERE name = ? AND user_type = ?');
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const type of types) update.run(enabled ? 1 : 0, now, actor, name, type);
    })();
  }

  user(id: unknown): UserRow {
    if (!Number.isInteger(id) || (id as number) <= 0) throw new HttpError(400, 'user_id must be a positive integer');
    const row = this.db.prepare('SELECT id, user_type, resting_hr, max_hr, gender FROM user_settings WHERE id = ?').get(id) as
      | UserRow
      | undefined;
    if (!row || !isUserType(row.user_type)) throw new HttpError(404, `Unknown user: ${id}`);
    return row;
  }

  /** Every user's id, grouped by type (the simulated users need each cohort). */
  usersByType(): Map<string, number[]> {
    const byType = new Map<string, number[]>();
    for (const row of this.db.prepare('SELECT id, user_type FROM user_settings ORDER BY id').all() as { id: number; user_type: string }[])
      byType.set(row.user_type, [...(byType.get(row.user_type) ?? []), row.id]);
    return byType;
  }

  insertActivity(activity: NewActivity): number {
    const insert = this.db.transaction(() => {
      const result = this.db
        .prepare(
          `INSERT INTO activities (user_id, date, name, type, avg_heart_rate, duration_minutes, trimp, trimp_calculation_method,
           hr_stream_sample_count, trimp_processed_at) VALUES (?, ?, 'Synced activity', 'Run', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          activity.userId,
          activity.date,
          activity.avgHr,
          activity.durationMin,
          activity.trimp,
          activity.method,
          activity.stream?.length ?? null,
          new Date().toISOString(),
        );
      const id = Number(result.lastInsertRowid);
      if (activity.stream) {
        this.db
          .prepare('INSERT INTO hr_streams (activity_id, user_id, hr_data, sample_rate) VALUES (?, ?, ?, ?)')
          .run(id, activity.userId, JSON.stringify(activity.stream), activity.stream.length / (activity.durationMin * 60));
      }
      return id;
    });
    return insert();
  }
}

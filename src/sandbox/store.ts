import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { connectionOf, numbered, numbersAsNumbers } from '../target/postgres.js';
import { isUserType, type UserType } from '../target/user-types.js';
import { HttpError } from './http.js';
import type { PostgresEngine, SandboxLayout } from './layout.js';

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

const INSERT_ACTIVITY = `INSERT INTO activities (user_id, date, name, type, avg_heart_rate, duration_minutes, trimp, trimp_calculation_method,
  hr_stream_sample_count, trimp_processed_at) VALUES (?, ?, 'Synced activity', 'Run', ?, ?, ?, ?, ?, ?)`;
const INSERT_STREAM = 'INSERT INTO hr_streams (activity_id, user_id, hr_data, sample_rate) VALUES (?, ?, ?, ?)';
const UPDATE_FLAG = 'UPDATE feature_flags SET enabled = ?, updated_at = ?, updated_by = ? WHERE name = ? AND user_type = ?';

/**
 * The app's database, as the sandbox app uses it: the queries are written once (portable SQL with
 * `?`), each engine says how to run them and how to write in one transaction. The flag is read
 * on every request, so a change made directly in the database (`--via db`) takes effect at once.
 */
export abstract class SandboxStore {
  abstract readonly engine: 'sqlite' | 'postgres';
  abstract all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** A statement that returns no rows (DDL, an UPDATE, an INSERT). */
  abstract execute(sql: string, params?: readonly unknown[]): Promise<void>;
  abstract tables(): Promise<string[]>;
  abstract setFlag(name: string, types: readonly UserType[], enabled: boolean, actor: string): Promise<void>;
  abstract insertActivity(activity: NewActivity): Promise<number>;
  /** After an injected fault replaced or damaged the database: a new connection sees it. */
  abstract reopen(): Promise<void>;
  abstract close(): Promise<void>;

  async flags(): Promise<FlagTable> {
    const out: FlagTable = {};
    for (const row of await this.all<{ name: string; user_type: string; enabled: number }>(
      'SELECT name, user_type, enabled FROM feature_flags',
    ))
      if (isUserType(row.user_type)) out[row.name] = { ...out[row.name], [row.user_type]: Number(row.enabled) === 1 };
    return out;
  }

  async flag(name: string): Promise<Partial<Record<UserType, boolean>>> {
    const states = (await this.flags())[name];
    if (!states) throw new HttpError(404, `Unknown feature flag: ${name}`);
    return states;
  }

  async user(id: unknown): Promise<UserRow> {
    if (!Number.isInteger(id) || (id as number) <= 0) throw new HttpError(400, 'user_id must be a positive integer');
    const [row] = await this.all<UserRow>('SELECT id, user_type, resting_hr, max_hr, gender FROM user_settings WHERE id = ?', [id]);
    if (!row || !isUserType(row.user_type)) throw new HttpError(404, `Unknown user: ${id}`);
    return { ...row, id: Number(row.id) };
  }

  /** Every user's id, grouped by type (the simulated users need each cohort). */
  async usersByType(): Promise<Map<string, number[]>> {
    const byType = new Map<string, number[]>();
    for (const row of await this.all<{ id: number; user_type: string }>('SELECT id, user_type FROM user_settings ORDER BY id'))
      byType.set(row.user_type, [...(byType.get(row.user_type) ?? []), Number(row.id)]);
    return byType;
  }

  async activityCount(): Promise<number> {
    const [row] = await this.all<{ n: number | string }>('SELECT COUNT(*) AS n FROM activities');
    return Number(row?.n ?? 0);
  }

  calculationStats(): Promise<unknown[]> {
    return this.all(
      `SELECT trimp_calculation_method AS method, COUNT(*) AS count, ROUND(CAST(AVG(trimp) AS NUMERIC), 2) AS avg_trimp, MIN(trimp) AS min_trimp,
       MAX(trimp) AS max_trimp FROM activities GROUP BY trimp_calculation_method`,
    );
  }

  feedbackSummary(): Promise<unknown[]> {
    return this.all(
      'SELECT category, COUNT(*) AS count, ROUND(CAST(AVG(rating) AS NUMERIC), 2) AS avg_rating FROM user_feedback GROUP BY category',
    );
  }
}

/** The sandbox's SQLite file (WAL, as the app runs it). Reopened after an injected fault damaged it. */
export class SqliteStore extends SandboxStore {
  readonly engine = 'sqlite';
  private connection: Database.Database;

  constructor(readonly path: string) {
    super();
    this.connection = SqliteStore.open(path);
  }

  private static open(path: string): Database.Database {
    const db = new Database(path, { fileMustExist: true, timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.connection.prepare(sql).all(...params) as T[];
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    this.connection.prepare(sql).run(...params);
  }

  async tables(): Promise<string[]> {
    return (this.connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
  }

  async setFlag(name: string, types: readonly UserType[], enabled: boolean, actor: string): Promise<void> {
    const update = this.connection.prepare(UPDATE_FLAG);
    const now = new Date().toISOString();
    this.connection.transaction(() => {
      for (const type of types) update.run(enabled ? 1 : 0, now, actor, name, type);
    })();
  }

  async insertActivity(a: NewActivity): Promise<number> {
    // One synchronous transaction: no other request's statement can fall inside it.
    return this.connection.transaction(() => {
      const result = this.connection
        .prepare(INSERT_ACTIVITY)
        .run(a.userId, a.date, a.avgHr, a.durationMin, a.trimp, a.method, a.stream?.length ?? null, new Date().toISOString());
      const id = Number(result.lastInsertRowid);
      if (a.stream)
        this.connection.prepare(INSERT_STREAM).run(id, a.userId, JSON.stringify(a.stream), a.stream.length / (a.durationMin * 60));
      return id;
    })();
  }

  async reopen(): Promise<void> {
    this.connection.close();
    this.connection = SqliteStore.open(this.path);
  }

  async close(): Promise<void> {
    if (this.connection.open) this.connection.close();
  }
}

/** The app's PostgreSQL database: a small pool; each write in one transaction on one client. */
export class PostgresStore extends SandboxStore {
  readonly engine = 'postgres';
  private pool: import('pg').Pool;

  private constructor(
    private readonly pg: typeof import('pg').default,
    private readonly connection: import('pg').PoolConfig,
  ) {
    super();
    this.pool = this.newPool();
  }

  static async open(connection: import('pg').PoolConfig): Promise<PostgresStore> {
    const { default: pg } = await import('pg');
    return new PostgresStore(pg, connection);
  }

  private newPool(): import('pg').Pool {
    const pool = new this.pg.Pool({
      ...this.connection,
      types: numbersAsNumbers(this.pg.types),
      max: 8,
      connectionTimeoutMillis: 5000,
      statement_timeout: 10_000,
    });
    pool.on('error', () => {}); // a dropped idle connection is replaced on the next query
    return pool;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query(numbered(sql), [...params])).rows as T[];
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.pool.query(numbered(sql), [...params]);
  }

  async tables(): Promise<string[]> {
    const rows = await this.all<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    return rows.map((r) => r.name);
  }

  private async transaction<T>(
    work: (query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(async (sql, params) => (await client.query(numbered(sql), params)).rows);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async setFlag(name: string, types: readonly UserType[], enabled: boolean, actor: string): Promise<void> {
    const now = new Date().toISOString();
    await this.transaction(async (query) => {
      for (const type of types) await query(UPDATE_FLAG, [enabled ? 1 : 0, now, actor, name, type]);
    });
  }

  async insertActivity(a: NewActivity): Promise<number> {
    return this.transaction(async (query) => {
      const [row] = await query(`${INSERT_ACTIVITY} RETURNING activity_id`, [
        a.userId,
        a.date,
        a.avgHr,
        a.durationMin,
        a.trimp,
        a.method,
        a.stream?.length ?? null,
        new Date().toISOString(),
      ]);
      const id = Number(row?.activity_id);
      if (a.stream) await query(INSERT_STREAM, [id, a.userId, JSON.stringify(a.stream), a.stream.length / (a.durationMin * 60)]);
      return id;
    });
  }

  async reopen(): Promise<void> {
    const old = this.pool;
    this.pool = this.newPool();
    await old.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** The store the sandbox's app uses: its PostgreSQL database when engine.json says so, else its SQLite file. */
export async function openSandboxStore(layout: SandboxLayout): Promise<SandboxStore> {
  if (!existsSync(layout.engineFile)) return new SqliteStore(layout.database);
  const engine = JSON.parse(readFileSync(layout.engineFile, 'utf8')) as PostgresEngine;
  return PostgresStore.open({ ...connectionOf(engine.url), password: readFileSync(engine.password_file, 'utf8').trim() });
}

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionOf } from '../target/postgres.js';
import { type PostgresServer, superuserPassword } from './postgres-server.js';
import { EXPECTED_TABLES, SANDBOX_DDL, SANDBOX_INDEXES } from './schema.js';

export interface AppDatabase {
  url: string;
  /** The app user's password, in a file (0600): target.database_password_file. */
  passwordFile: string;
}

/** The sandbox's tables on PostgreSQL: the same DDL, with SQLite's REAL as double precision (float4 would round TRIMP values). */
export function postgresDdl(sqliteDdl: string): string {
  return sqliteDdl.replace(/\bREAL\b/g, 'DOUBLE PRECISION');
}

const BATCH = 500;

/**
 * The TRIMP app's database on the sandbox's PostgreSQL server, holding what a seeded SQLite
 * sandbox database holds (the same users, activities, streams and flags): an app role that owns
 * it, the amcheck extension (the "no data corruption" check), the tables, the rows, the indexes.
 */
export async function createAppDatabase(
  server: PostgresServer,
  options: { sqliteSource: string; user?: string; database?: string },
): Promise<AppDatabase> {
  const { default: pg } = await import('pg');
  const { default: Database } = await import('better-sqlite3');
  const user = options.user ?? 'trimp';
  const database = options.database ?? 'training';
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(server.dir, `${user}-password`);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const superuser = superuserPassword(server);
  const admin = new pg.Client({ ...connectionOf(server.url('postgres', 'postgres')), password: superuser });
  await admin.connect();
  try {
    // Identifiers are ours (fixed words), the password is a literal: quoted by the server's rules.
    await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${user}`);
  } finally {
    await admin.end();
  }
  const owner = new pg.Client({ ...connectionOf(server.url('postgres', database)), password: superuser });
  await owner.connect();
  try {
    await owner.query('CREATE EXTENSION IF NOT EXISTS amcheck');
    await owner.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${user}`);
  } finally {
    await owner.end();
  }
  const app = new pg.Client({ ...connectionOf(server.url(user, database)), password });
  const source = new Database(options.sqliteSource, { readonly: true, fileMustExist: true });
  await app.connect();
  try {
    await app.query('BEGIN');
    await app.query(postgresDdl(SANDBOX_DDL));
    // Parents before children: the foreign keys hold at every insert.
    const order = [
      'user_settings',
      'activities',
      'hr_streams',
      ...EXPECTED_TABLES.filter((t) => !['user_settings', 'activities', 'hr_streams'].includes(t)),
    ];
    for (const table of order) {
      const rows = source.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
      const columns = rows[0] ? Object.keys(rows[0]) : [];
      for (let start = 0; start < rows.length; start += BATCH) {
        const batch = rows.slice(start, start + BATCH);
        const values: unknown[] = [];
        const tuples = batch.map((row) => `(${columns.map((c) => `$${values.push(row[c])}`).join(', ')})`);
        await app.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
      }
    }
    await app.query(SANDBOX_INDEXES);
    await app.query('COMMIT');
    await app.query('ANALYZE');
  } catch (error) {
    await app.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    source.close();
    await app.end();
  }
  return { url: server.url(user, database), passwordFile };
}

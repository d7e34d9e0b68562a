import type { Database } from 'better-sqlite3';
import { USER_TYPES } from '../target/user-types.js';

/**
 * The sandbox's database: the public app's tables as far as the rollback procedures touch
 * them (activities, hr_streams, user_settings), plus the flag and settings tables.
 */
export const SCHEMA_VERSION = 1;

export const EXPECTED_TABLES = ['activities', 'feature_flags', 'hr_streams', 'trimp_settings', 'user_feedback', 'user_settings'] as const;

export const SANDBOX_DDL = `
CREATE TABLE IF NOT EXISTS user_settings (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  user_type TEXT NOT NULL DEFAULT 'regular' CHECK (user_type IN ('admin', 'beta', 'regular')),
  resting_hr INTEGER NOT NULL,
  max_hr INTEGER NOT NULL,
  gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
  is_admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS activities (
  activity_id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES user_settings(id),
  date TEXT NOT NULL,
  name TEXT,
  type TEXT,
  avg_heart_rate REAL,
  max_heart_rate REAL,
  duration_minutes REAL NOT NULL,
  trimp REAL,
  time_in_zone1 REAL, time_in_zone2 REAL, time_in_zone3 REAL, time_in_zone4 REAL, time_in_zone5 REAL,
  trimp_calculation_method TEXT NOT NULL DEFAULT 'average' CHECK (trimp_calculation_method IN ('average', 'stream', 'rest_day')),
  hr_stream_sample_count INTEGER,
  trimp_processed_at TEXT
);
CREATE TABLE IF NOT EXISTS hr_streams (
  activity_id INTEGER PRIMARY KEY REFERENCES activities(activity_id),
  user_id INTEGER NOT NULL,
  hr_data TEXT NOT NULL,
  sample_rate REAL NOT NULL DEFAULT 1.0
);
CREATE TABLE IF NOT EXISTS feature_flags (
  name TEXT NOT NULL,
  user_type TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (name, user_type)
);
CREATE TABLE IF NOT EXISTS trimp_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_feedback (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  category TEXT NOT NULL,
  rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
  message TEXT
);
`;

/** Indexes are built after a bulk load: inserting into an indexed table is several times slower. */
export const SANDBOX_INDEXES = `
CREATE INDEX IF NOT EXISTS idx_activities_user_date ON activities (user_id, date);
CREATE INDEX IF NOT EXISTS idx_activities_date ON activities (date);
CREATE INDEX IF NOT EXISTS idx_activities_method_trimp ON activities (trimp_calculation_method, trimp);
`;

export function createSchema(db: Database, flagEnabled: boolean): void {
  db.exec(SANDBOX_DDL);
  addUserTypes(db);
  const now = new Date().toISOString();
  const flag = db.prepare('INSERT OR IGNORE INTO feature_flags (name, user_type, enabled, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)');
  for (const type of USER_TYPES) flag.run('enhanced_trimp_calculation', type, flagEnabled ? 1 : 0, now, 'sandbox-seed');
  const setting = db.prepare('INSERT OR IGNORE INTO trimp_settings (key, value) VALUES (?, ?)');
  for (const [key, value] of Object.entries({ prefactor: '0.64', exponent_male: '1.92', exponent_female: '1.67', rounding: '2' }))
    setting.run(key, value);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** After seeding: indexes, statistics, and the WAL mode the app runs in. */
export function finishSchema(db: Database): void {
  db.exec(SANDBOX_INDEXES);
  db.exec('ANALYZE');
  db.pragma('journal_mode = WAL');
}

/**
 * A copy of a real database (`rehearse --db-from`) may predate user types: the public app
 * hard-codes user 1 as admin and users 2 and 3 as beta. Add the column with that rule.
 */
function addUserTypes(db: Database): void {
  const columns = (db.prepare('PRAGMA table_info(user_settings)').all() as { name: string }[]).map((c) => c.name);
  if (columns.includes('user_type')) return;
  db.exec("ALTER TABLE user_settings ADD COLUMN user_type TEXT NOT NULL DEFAULT 'regular'");
  db.exec("UPDATE user_settings SET user_type = CASE WHEN id = 1 THEN 'admin' WHEN id IN (2, 3) THEN 'beta' ELSE 'regular' END");
}

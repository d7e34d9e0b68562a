import type { Database } from 'better-sqlite3';
import { USER_TYPES } from '../target/user-types.js';

/**
 * The sandbox's database: the public app's tables as far as the rollback procedures touch
 * them (activities, hr_streams, user_settings), plus the flag and settings tables.
 */
export const SCHEMA_VERSION = 1;

export const EXPECTED_TABLES = ['activities', 'feature_flags', 'hr_streams', 'trimp_settings', 'user_feedback', 'user_settings'] as const;

const DDL = `
CREATE TABLE user_settings (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  user_type TEXT NOT NULL DEFAULT 'regular' CHECK (user_type IN ('admin', 'beta', 'regular')),
  resting_hr INTEGER NOT NULL,
  max_hr INTEGER NOT NULL,
  gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
  is_admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE activities (
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
CREATE INDEX idx_activities_user_date ON activities (user_id, date);
CREATE TABLE hr_streams (
  activity_id INTEGER PRIMARY KEY REFERENCES activities(activity_id),
  user_id INTEGER NOT NULL,
  hr_data TEXT NOT NULL,
  sample_rate REAL NOT NULL DEFAULT 1.0
);
CREATE TABLE feature_flags (
  name TEXT NOT NULL,
  user_type TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (name, user_type)
);
CREATE TABLE trimp_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE user_feedback (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  category TEXT NOT NULL,
  rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
  message TEXT
);
`;

export function createSchema(db: Database, flagEnabled: boolean): void {
  db.pragma('journal_mode = WAL');
  db.exec(DDL);
  const now = new Date().toISOString();
  const flag = db.prepare('INSERT INTO feature_flags (name, user_type, enabled, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)');
  for (const type of USER_TYPES) flag.run('enhanced_trimp_calculation', type, flagEnabled ? 1 : 0, now, 'sandbox-seed');
  const setting = db.prepare('INSERT INTO trimp_settings (key, value) VALUES (?, ?)');
  for (const [key, value] of Object.entries({ prefactor: '0.64', exponent_male: '1.92', exponent_female: '1.67', rounding: '2' }))
    setting.run(key, value);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

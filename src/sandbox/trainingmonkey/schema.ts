import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxStore } from '../store.js';
import { hashPassword } from './flask.js';

/**
 * The sandbox database reshaped as the public app's: no flag table (flags are in code), no user
 * types (beta users are ids in code), a password hash per user, hr_streams with an id of its own
 * (several rows per activity are possible), and the api_logs table every request is written to.
 */
export const TRAININGMONKEY_TABLES = ['activities', 'api_logs', 'hr_streams', 'user_settings'] as const;

export const ADMIN_EMAIL_FILE = 'admin-email';
export const ADMIN_PASSWORD_FILE = 'admin-password';
export const PROFILE_FILE = 'profile.json';

export interface SandboxProfile {
  profile: 'trainingmonkey';
  /** The database was reshaped (done once). */
  reshaped: boolean;
}

export function readSandboxProfile(root: string): SandboxProfile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(root, PROFILE_FILE), 'utf8')) as SandboxProfile;
    return parsed.profile === 'trainingmonkey' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const STATEMENTS: Record<'sqlite' | 'postgres', string[]> = {
  sqlite: [
    'DROP TABLE IF EXISTS feature_flags',
    'DROP TABLE IF EXISTS trimp_settings',
    'DROP TABLE IF EXISTS user_feedback',
    'ALTER TABLE user_settings DROP COLUMN user_type',
    'ALTER TABLE user_settings ADD COLUMN password_hash TEXT',
    `CREATE TABLE hr_streams_new (id INTEGER PRIMARY KEY, activity_id INTEGER NOT NULL, user_id INTEGER NOT NULL, hr_data TEXT NOT NULL,
       sample_rate REAL NOT NULL DEFAULT 1.0, created_at TEXT, updated_at TEXT)`,
    'INSERT INTO hr_streams_new (activity_id, user_id, hr_data, sample_rate) SELECT activity_id, user_id, hr_data, sample_rate FROM hr_streams',
    'DROP TABLE hr_streams',
    'ALTER TABLE hr_streams_new RENAME TO hr_streams',
    'CREATE INDEX IF NOT EXISTS idx_hr_streams_activity ON hr_streams (activity_id)',
    `CREATE TABLE api_logs (id INTEGER PRIMARY KEY, "timestamp" TEXT NOT NULL, endpoint TEXT NOT NULL, method TEXT NOT NULL,
       response_time_ms INTEGER, status_code INTEGER, user_id INTEGER, error_message TEXT, request_size_bytes INTEGER,
       response_size_bytes INTEGER, user_agent TEXT, ip_address TEXT)`,
    'CREATE INDEX IF NOT EXISTS idx_api_logs_timestamp ON api_logs ("timestamp")',
  ],
  postgres: [
    'DROP TABLE IF EXISTS feature_flags',
    'DROP TABLE IF EXISTS trimp_settings',
    'DROP TABLE IF EXISTS user_feedback',
    'ALTER TABLE user_settings DROP COLUMN user_type',
    'ALTER TABLE user_settings ADD COLUMN password_hash TEXT',
    'ALTER TABLE hr_streams DROP CONSTRAINT IF EXISTS hr_streams_pkey',
    'ALTER TABLE hr_streams ADD COLUMN id SERIAL PRIMARY KEY',
    'ALTER TABLE hr_streams ADD COLUMN created_at TIMESTAMPTZ DEFAULT NOW()',
    'ALTER TABLE hr_streams ADD COLUMN updated_at TIMESTAMPTZ DEFAULT NOW()',
    'CREATE INDEX IF NOT EXISTS idx_hr_streams_activity ON hr_streams (activity_id)',
    `CREATE TABLE api_logs (id SERIAL PRIMARY KEY, "timestamp" TIMESTAMPTZ DEFAULT NOW(), endpoint VARCHAR(255) NOT NULL,
       method VARCHAR(10) NOT NULL, response_time_ms INTEGER, status_code INTEGER, user_id INTEGER, error_message TEXT,
       request_size_bytes INTEGER, response_size_bytes INTEGER, user_agent TEXT, ip_address TEXT)`,
    'CREATE INDEX IF NOT EXISTS idx_api_logs_timestamp ON api_logs ("timestamp")',
  ],
};

/**
 * Reshapes the seeded database once, and gives the admin (user 1) a generated password, written
 * to admin-password (0600) beside the admin's e-mail. Every other user gets a password nobody knows.
 */
export async function reshapeForTrainingMonkey(root: string, store: SandboxStore): Promise<void> {
  for (const sql of STATEMENTS[store.engine]) await store.execute(sql);
  const password = randomBytes(15).toString('base64url');
  const users = await store.all<{ id: number; email: string }>('SELECT id, email FROM user_settings ORDER BY id');
  for (const user of users)
    await store.execute('UPDATE user_settings SET password_hash = ? WHERE id = ?', [
      hashPassword(Number(user.id) === 1 ? password : randomBytes(18).toString('hex')),
      user.id,
    ]);
  const admin = users.find((u) => Number(u.id) === 1);
  writeFileSync(join(root, ADMIN_PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  writeFileSync(join(root, ADMIN_EMAIL_FILE), `${admin?.email ?? 'user1@example.test'}\n`);
  const profile: SandboxProfile = { profile: 'trainingmonkey', reshaped: true };
  writeFileSync(join(root, PROFILE_FILE), `${JSON.stringify(profile)}\n`);
}

export function adminEmail(root: string): string {
  const file = join(root, ADMIN_EMAIL_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'user1@example.test';
}

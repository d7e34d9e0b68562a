import { TrimpError } from '../errors.js';
import type { OpenOptions, SqlDatabase } from './database.js';
import type { FlagStore, WriteGate } from './flag-store.js';
import { type FlagStates, isUserType } from './user-types.js';

type Opener = (options: OpenOptions) => Promise<SqlDatabase>;

/**
 * The flag table edited directly, for when the app is down. Reads use a read-only connection
 * (it cannot checkpoint the WAL, so a dry run leaves the file as it was); a write opens a
 * read-write connection only when it happens.
 */
export function dbFlagStore(open: Opener, location: string, gate: WriteGate): FlagStore {
  let reader: SqlDatabase | undefined;
  let writer: SqlDatabase | undefined;
  const read = async () => {
    reader ??= await open({ readonly: true });
    return reader;
  };

  return {
    via: 'db',
    location,
    async read(flag) {
      const rows = await (await read()).all<{ user_type: string; enabled: number }>(
        'SELECT user_type, enabled FROM feature_flags WHERE name = ?',
        [flag],
      );
      if (rows.length === 0) {
        throw new TrimpError('unknown-flag', `table feature_flags in ${location} has no rows for ${flag}`);
      }
      const states: FlagStates = {};
      for (const row of rows) if (isUserType(row.user_type)) states[row.user_type] = row.enabled !== 0;
      return states;
    },
    async set(flag, userType, enabled, actor) {
      gate.verifyWritable(`UPDATE feature_flags in ${location}`);
      writer ??= await open({ readonly: false });
      const db = writer;
      const now = new Date().toISOString();
      const value = enabled ? 1 : 0;
      // UPDATE, then INSERT when no row exists: portable, and needs no unique constraint.
      await db.transaction(async () => {
        const { changes } = await db.run(
          'UPDATE feature_flags SET enabled = ?, updated_at = ?, updated_by = ? WHERE name = ? AND user_type = ?',
          [value, now, actor, flag, userType],
        );
        if (changes === 0) {
          await db.run('INSERT INTO feature_flags (name, user_type, enabled, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)', [
            flag,
            userType,
            value,
            now,
            actor,
          ]);
        }
      });
    },
    async evaluate(flag, userId) {
      const db = await read();
      const [user] = await db.all<{ user_type: string }>('SELECT user_type FROM user_settings WHERE id = ?', [userId]);
      if (!user || !isUserType(user.user_type)) {
        throw new TrimpError('unknown-user', `user ${userId} is not in user_settings of ${location} (or has no user type)`);
      }
      const states = await this.read(flag);
      return { userType: user.user_type, enabled: states[user.user_type] ?? false };
    },
    async close() {
      await reader?.close();
      await writer?.close();
    },
  };
}

import type { Config } from '../config/config.js';
import { TrimpError } from '../errors.js';
import { isPostgresUrl, openPostgres } from './postgres.js';
import { profileNamed } from './profiles/index.js';

/**
 * A PostgreSQL target is reached once before anything is planned or journaled: a wrong password,
 * a server that is down or a database that is not there is one line, and no run is left behind.
 */
export async function verifyPostgresTarget(config: Config): Promise<void> {
  if (!isPostgresUrl(config.target.database)) return;
  const db = await openPostgres(config.target.database, { readonly: true, password: config.target.databasePassword });
  try {
    const tables = await db.tableNames();
    const missing = profileNamed(config.target.profile).expectedTables.filter((table) => !tables.includes(table));
    if (missing.length > 0)
      throw new TrimpError('database-schema', `PostgreSQL at ${db.location} has no table ${missing.join(', ')}`, {
        remedy: "check that target.database names the TRIMP app's database",
      });
  } finally {
    await db.close();
  }
}

import { isPostgresUrl } from '../target/postgres.js';

/**
 * The built-in runbooks that restore a database have a PostgreSQL twin (restore into a new
 * database and swap names, instead of staging a file). Whoever asks for one, by command or as a
 * stage of another runbook (the complete rollback), gets the one that fits the target.
 */
const POSTGRES_TWINS: Readonly<Record<string, string>> = { database: 'database-postgres', 'database-undo': 'database-undo-postgres' };

export function runbookForTarget(id: string, database: string): string {
  return isPostgresUrl(database) ? (POSTGRES_TWINS[id] ?? id) : id;
}

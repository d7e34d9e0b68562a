import { dirname } from 'node:path';
import { z } from 'zod';
import { freeBytes } from '../backup/file-io.js';
import { formatBytes } from '../report/format.js';
import { isPostgresUrl } from '../target/postgres.js';
import { defineAction } from './action.js';
import { instanceAppsOf } from './app-instances.js';
import { appPreflight, appProblems } from './app-preflight.js';
import { swapProblems } from './database-pg.js';
import { databaseFileOf, restoreSourceOf } from './restore-source.js';

const params = z.object({}).strict();

/**
 * What would stop the rollback halfway, found while the app still runs: the app cannot be
 * stopped by its PID file, could not be started again, another process holds the database,
 * or there is no room for the staged copy. Each would otherwise cost an outage.
 */
export const databasePreflight = defineAction<z.output<typeof params>>({
  name: 'database.preflight',
  description:
    'Before anything changes: the PID file names the app, its start command exists, nothing else holds the database, room for the staged copy.',
  rehearsal: 'probe',
  confirm: false,
  rerunWhenResumed: true,
  params,
  describe: (params, info) => [
    ...appPreflight.describe(params, info).filter((op) => !(isPostgresUrl(info.database) && op.text.startsWith('/proc/'))),
    isPostgresUrl(info.database)
      ? {
          kind: 'sql',
          text: "pg_roles, pg_database, pg_tables, pg_stat_activity: the role may create databases, owns the app's and its tables, and may end every session on it",
        }
      : { kind: 'file', text: `free space in ${dirname(databaseFileOf(info))} for the staged copy` },
  ],
  async run(_params, ctx) {
    const database = databaseFileOf(ctx.info);
    const source = restoreSourceOf(ctx);
    const { states, others, problems, said } = appProblems(instanceAppsOf(ctx.info), ctx.info.appDir, database);
    if (isPostgresUrl(ctx.info.database)) {
      // The restore creates a database and renames two: what would stop the swap, found before the stop.
      const db = await ctx.target.openDatabase({ readonly: true });
      const swap = await swapProblems(db).finally(() => db.close());
      problems.push(...swap.problems);
      const evidence = { app: states.length === 1 ? states[0] : states, swap };
      if (problems.length > 0) return { status: 'failed', summary: `${problems.join('; ')}; nothing was changed`, evidence };
      return { status: 'succeeded', summary: `${said}; ${swap.said}`, evidence };
    }
    const free = freeBytes(dirname(database));
    if (free < source.size + 1024 * 1024)
      problems.push(
        `not enough disk to stage the restore: ${dirname(database)} has ${formatBytes(free)} free, the copy needs ${formatBytes(source.size)}`,
      );
    const evidence = { app: states.length === 1 ? states[0] : states, other_holders: others, free_bytes: free, needed_bytes: source.size };
    if (problems.length > 0) return { status: 'failed', summary: `${problems.join('; ')}; nothing was changed`, evidence };
    return {
      status: 'succeeded',
      summary: `${said}; ${formatBytes(free)} free for a ${formatBytes(source.size)} copy`,
      evidence,
    };
  },
});

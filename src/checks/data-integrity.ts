import { withDatabase } from './app-access.js';
import { newestActivity, rowCounts, schemaHash } from './baseline.js';
import { type CheckDefinition, fail, pass, skip } from './check.js';

export const noCorruption: CheckDefinition = {
  name: 'no-corruption',
  group: 'data-integrity',
  title: 'No data corruption',
  run: (ctx) =>
    withDatabase(ctx, async () => {
      const db = await ctx.target.openDatabase({ readonly: true });
      try {
        // The engine's own check: SQLite's quick_check, PostgreSQL's amcheck (when installed).
        const result = await db.integrity('quick');
        if (!result.checked) return skip(`no corruption check on ${db.location}: ${result.why}`);
        // One row can hold several lines: each problem is one message.
        const messages = result.problems.flatMap((p) => p.split('\n')).filter(Boolean);
        if (messages.length === 0) return pass(`${result.why}: ok`);
        return fail(
          `${result.why} found ${messages.length} problem(s): ${messages.slice(0, 3).join('; ')}`,
          'the database is damaged: run the database rollback to a verified backup',
          { problems: messages },
        );
      } finally {
        await db.close();
      }
    }),
};

const NO_BASELINE = 'no baseline: pass --since RUN_ID of a run that recorded one (every scenario does, before it changes anything)';

export const schemaConsistent: CheckDefinition = {
  name: 'schema-consistent',
  group: 'data-integrity',
  title: 'Database schema is consistent',
  run: (ctx) =>
    withDatabase(ctx, async () => {
      if (!ctx.baseline) return skip(NO_BASELINE);
      const db = await ctx.target.openDatabase({ readonly: true });
      try {
        const now = await schemaHash(db);
        const evidence = { baseline: ctx.baseline.schema_hash, now };
        if (now !== ctx.baseline.schema_hash)
          return fail('the schema differs from the baseline', 'compare the schema with the backup the baseline came from', evidence);
        return pass(`schema hash ${now.slice(0, 12)} matches the baseline of ${ctx.baseline.recorded_at}`, evidence);
      } finally {
        await db.close();
      }
    }),
};

export const historicalData: CheckDefinition = {
  name: 'historical-data',
  group: 'data-integrity',
  title: 'Historical data is intact',
  run: (ctx) =>
    withDatabase(ctx, async () => {
      const baseline = ctx.baseline;
      if (!baseline) return skip(NO_BASELINE);
      const db = await ctx.target.openDatabase({ readonly: true });
      try {
        const counts = await rowCounts(db);
        const newest = await newestActivity(db);
        const lost = Object.entries(baseline.row_counts).filter(([table, before]) => (counts[table] ?? 0) < before);
        const evidence = { baseline: baseline.row_counts, now: counts, newest_before: baseline.newest_activity, newest_now: newest };
        const problems = lost.map(([table, before]) => `${table}: ${counts[table] ?? 0} rows, ${before} before`);
        if (baseline.newest_activity && (!newest || newest < baseline.newest_activity))
          problems.push(`newest activity ${newest}, was ${baseline.newest_activity}`);
        if (problems.length > 0)
          return fail(problems.join('; '), 'rows were lost since the baseline: find out why before going on', evidence);
        return pass(`no table lost rows since ${baseline.recorded_at}; newest activity ${newest}`, evidence);
      } finally {
        await db.close();
      }
    }),
};

class RolledBack extends Error {}

/** A real write (an activity row), read back, then rolled back: it leaves no trace. */
export const newDataCanBeCreated: CheckDefinition = {
  name: 'new-data',
  group: 'data-integrity',
  title: 'New data can be created',
  run: (ctx) =>
    withDatabase(ctx, async () => {
      if (ctx.target.dryRun) return skip('a dry run writes nothing, not even a write that is rolled back');
      const db = await ctx.target.openDatabase({ readonly: false });
      const userId = ctx.target.config.sampleUsers.regular;
      let readBack: unknown;
      try {
        await db.transaction(async () => {
          // Only columns both apps have, and an id of its own (the public app's activity_id has no default):
          // negative, as the app's synthetic rows are, and far from any it makes, so that a user's
          // concurrent insert (the next id of a sequence) never collides with it. It is rolled back.
          const id = -(1_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
          await db.run(
            "INSERT INTO activities (activity_id, user_id, date, duration_minutes, avg_heart_rate, trimp, trimp_calculation_method) VALUES (?, ?, ?, 1, 120, 0, 'average')",
            [id, userId, new Date().toISOString().slice(0, 19).replace('T', ' ')],
          );
          [readBack] = await db.all('SELECT activity_id FROM activities WHERE activity_id = ?', [id]);
          throw new RolledBack();
        });
      } catch (error) {
        if (!(error instanceof RolledBack)) throw error;
      } finally {
        await db.close();
      }
      if (!readBack)
        return fail('an inserted activity could not be read back', 'check the database for triggers or constraints that drop rows');
      return pass(`inserted and read back an activity for user ${userId}, then rolled it back`);
    }),
};

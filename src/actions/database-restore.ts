import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { sha256File } from '../backup/file-io.js';
import { keptPathFor, sameFile, stage, stagedPathFor, staleStagedFiles, swapIn } from '../backup/restore.js';
import { formatBytes } from '../report/format.js';
import { defineAction } from './action.js';
import { activitiesNewerThan, lostText } from './backup-choose.js';
import { baselineOf, databaseFileOf, describeSource, RESTORED_BASELINE, restoreSourceOf } from './restore-source.js';

const params = z.object({ thorough: z.boolean().default(false) }).strict();
type Params = z.output<typeof params>;

/** SQLITE-NOTES' restore: the database file is at every instant exactly the old one or exactly the chosen one. */
export const databaseRestore = defineAction<Params>({
  name: 'database.restore',
  description:
    'Restore the chosen database crash-safely: stage beside it, fsync, check the staged bytes, remove stale -wal/-shm, atomic rename, fsync the directory.',
  rehearsal: 'print',
  confirm: true,
  recheckWhenResumed: false,
  params,
  describe: ({ thorough }, info) => {
    const database = databaseFileOf(info);
    const staged = stagedPathFor(database, info.runId);
    const check = thorough ? 'integrity_check' : 'quick_check';
    return [
      { kind: 'file', text: `rm ${dirname(database)}/.${basename(database)}.trimp-stage-* (left by a killed run, if any)` },
      { kind: 'file', text: `copy the chosen database → ${staged} (SHA-256 while copying, compared with the verified one), fsync` },
      { kind: 'sql', text: `PRAGMA ${check} on ${staged}; page count, schema and user_version against the manifest` },
      { kind: 'sql', text: `exclusive lock on ${database} with no wait (nothing else has it open)` },
      { kind: 'file', text: `rm ${database}-wal ${database}-shm ${database}-journal` },
      { kind: 'file', text: `rename ${staged} → ${database}, fsync ${dirname(database)}` },
    ];
  },
  async blastRadius(_params, ctx) {
    const database = databaseFileOf(ctx.info);
    const source = restoreSourceOf(ctx);
    const stale = staleStagedFiles(database);
    return [
      `${database} is replaced by ${describeSource(source)}`,
      lostText(await activitiesNewerThan(ctx.target, source, ctx.run.observed.get('baseline'))),
      `the replaced file stays as ${keptPathFor(database, ctx.info.runId)}`,
      `needs ${formatBytes(source.size)} free in ${dirname(database)} for the staged copy`,
      ...(stale.length > 0 ? [`removes ${stale.length} staged file(s) a killed run left: ${stale.join(', ')}`] : []),
    ];
  },
  async run({ thorough }, ctx) {
    const database = databaseFileOf(ctx.info);
    const source = restoreSourceOf(ctx);
    ctx.progress(`staging ${formatBytes(source.size)}`);
    const staged = await stage(source, database, ctx.info.runId, thorough ? 'integrity' : 'quick');
    ctx.progress('swapping it in');
    const swapped = await swapIn(staged.path, database);
    ctx.observe(RESTORED_BASELINE, baselineOf(source));
    const removed = staged.removedStale.length ? `; removed ${staged.removedStale.length} stale staged file(s)` : '';
    return {
      status: 'succeeded',
      summary: `${database} is now ${source.kind === 'backup' ? `backup ${source.id}` : source.file} (SHA-256 ${staged.sha256.slice(0, 16)}…, ${staged.check})${removed}`,
      evidence: {
        source: source.id,
        sha256: staged.sha256,
        staged: staged.path,
        removed_stale: staged.removedStale,
        removed: swapped.removed,
        proof: swapped.proof,
      },
    };
  },
  async reconcile(_params, ctx) {
    const database = databaseFileOf(ctx.info);
    const source = restoreSourceOf(ctx);
    if (sameFile(keptPathFor(database, ctx.info.runId), database))
      return { done: false, summary: 'the database is still the one kept aside' };
    const sha256 = await sha256File(database);
    if (sha256 !== source.sha256)
      return { done: false, summary: `the database (SHA-256 ${sha256.slice(0, 16)}…) is not the chosen one yet` };
    ctx.observe(RESTORED_BASELINE, baselineOf(source));
    return { done: true, summary: `the database is already the chosen one (SHA-256 ${sha256.slice(0, 16)}…)` };
  },
});

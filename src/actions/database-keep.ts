import { existsSync } from 'node:fs';
import { z } from 'zod';
import { inspectKept, keepCurrent, keptPathFor, sameFile } from '../backup/restore.js';
import { sizeOf } from '../backup/sqlite-file.js';
import { formatBytes } from '../report/format.js';
import { defineAction } from './action.js';
import { databaseFileOf, KEPT_DATABASE, type KeptDatabase } from './restore-source.js';

const params = z.object({}).strict();

/**
 * The seed's "backup current database" without `cp` of a live file: the WAL is checkpointed
 * under an exclusive lock (so the file alone is whole), then the file is kept by a hard link
 * named after the run. Instant, no extra space, and `database undo` puts it back.
 */
export const databaseKeep = defineAction<z.output<typeof params>>({
  name: 'database.keep',
  description: 'Keep the current database aside: WAL checkpointed under an exclusive lock, then a hard link named after the run.',
  rehearsal: 'print',
  confirm: true,
  recheckWhenResumed: false,
  params,
  describe: (_params, info) => {
    const database = databaseFileOf(info);
    return [
      { kind: 'sql', text: `${database}: exclusive lock with no wait, PRAGMA wal_checkpoint(TRUNCATE)` },
      { kind: 'file', text: `link ${database} → ${keptPathFor(database, info.runId)}, fsync the directory` },
      { kind: 'file', text: 'SHA-256 and quick_check of the kept file, journaled (database undo checks them)' },
    ];
  },
  async blastRadius(_params, ctx) {
    const database = databaseFileOf(ctx.info);
    const wal = sizeOf(`${database}-wal`);
    return [
      `${database}: ${formatBytes(sizeOf(database))}${wal ? `, ${formatBytes(wal)} of WAL moved into it first` : ''}; kept as ${keptPathFor(database, ctx.info.runId)} (a hard link now; it takes the database's full size once the restore replaces the file)`,
    ];
  },
  async run(_params, ctx) {
    const database = databaseFileOf(ctx.info);
    const kept = await keepCurrent(database, ctx.info.runId);
    const record: KeptDatabase = {
      database,
      path: kept.path,
      sha256: kept.sha256,
      size: kept.size,
      quick_check: kept.quick_check,
    };
    ctx.observe(KEPT_DATABASE, record);
    const damaged =
      kept.quick_check === 'ok' ? '' : `; it is damaged (quick_check: ${kept.quick_check}), so it is kept for recovery, not as an undo`;
    return {
      status: 'succeeded',
      summary: `kept ${formatBytes(kept.size)} as ${kept.path} (SHA-256 ${kept.sha256.slice(0, 16)}…; ${kept.settled.wal_bytes_before} bytes of WAL checkpointed first)${damaged}`,
      evidence: { ...record, ...kept.settled },
    };
  },
  async reconcile(_params, ctx) {
    const database = databaseFileOf(ctx.info);
    const path = keptPathFor(database, ctx.info.runId);
    if (ctx.run.observed.has(KEPT_DATABASE) && existsSync(path)) return { done: true, summary: `kept as ${path}` };
    // Linked but killed before it was journaled: still the same file as the database, so journal it now.
    if (sameFile(path, database) && sizeOf(`${database}-wal`) === 0) {
      const record: KeptDatabase = { database, path, size: sizeOf(path), ...(await inspectKept(path)) };
      ctx.observe(KEPT_DATABASE, record);
      return { done: true, summary: `kept as ${path} (linked before the interruption; journaled now)` };
    }
    return { done: false, summary: `${path} is not there yet` };
  },
});

import { statSync } from 'node:fs';
import { z } from 'zod';
import { readFacts, withSqliteFile } from '../backup/sqlite-file.js';
import { messageOf, TrimpError } from '../errors.js';
import { defineAction } from './action.js';
import { describeSource, RESTORE_SOURCE, type RestoreSource } from './restore-source.js';

const params = z.object({ file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), kept_at: z.string().min(1) }).strict();
type Params = z.output<typeof params>;

/** The undo of a database rollback: the database an earlier run kept aside is what gets restored. */
export const databaseUseKept = defineAction<Params>({
  name: 'database.use-kept',
  description: 'Choose the database an earlier run kept aside (its undo) as the one to restore.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: ({ file }) => [{ kind: 'file', text: `read ${file} (kept by the run being undone)` }],
  async run({ file, sha256, kept_at }, ctx) {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new TrimpError('kept-missing', `the kept database is gone: ${file}`, {
        remedy: 'nothing was changed; restore a backup instead (trimp-rollback database)',
      });
    }
    let facts: Awaited<ReturnType<typeof readFacts>>;
    try {
      facts = await withSqliteFile(file, readFacts);
    } catch (error) {
      throw new TrimpError(
        'kept-damaged',
        `the database kept aside is not usable (${messageOf(error).slice(0, 160)}): putting it back would bring the damage back`,
        {
          remedy: 'nothing was changed; to recover rows from it, open a copy with sqlite3 .recover',
        },
      );
    }
    const source: RestoreSource = { kind: 'kept', id: file, file, sha256, size, created_at: kept_at, ...facts };
    ctx.observe(RESTORE_SOURCE, source);
    return { status: 'succeeded', summary: describeSource(source), evidence: { source } };
  },
});

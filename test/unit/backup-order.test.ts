import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackupStore } from '../../src/backup/store.js';

describe('the backups directory', () => {
  it("lists the tool's backups newest first by their time; a stray file never reads as the newest", () => {
    const dir = mkdtempSync(join(tmpdir(), 'trimp-backup-order-'));
    try {
      for (const name of ['20261129T030000.000Z.db', '20261129T040000.000Z-label.db', 'x.json', 'zz-notes.db'])
        writeFileSync(join(dir, name), '');
      expect(new BackupStore(dir).entries().map((e) => e.id)).toEqual([
        '20261129T040000.000Z-label',
        '20261129T030000.000Z',
        'zz-notes',
        'x',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

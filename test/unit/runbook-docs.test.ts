import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRunbookDoc } from '../../src/report/runbook-docs.js';
import { builtinRunbookFiles, builtinRunbookIds, loadRunbook } from '../../src/runbook/load.js';
import { cli, ROOT } from '../helpers/cli.js';

describe('runbook pages (docs/runbooks)', () => {
  it('are what the runbooks render to today: a page that drifted fails here (regenerate: trimp-rollback runbooks docs)', () => {
    for (const file of builtinRunbookFiles()) {
      const book = loadRunbook(file);
      const page = join(ROOT, 'docs', 'runbooks', `${book.id}.md`);
      expect(existsSync(page), `${page} is missing`).toBe(true);
      expect(readFileSync(page, 'utf8'), `${page} is stale`).toBe(renderRunbookDoc(book));
    }
  });

  it('say the use case, impact, time and every step with its exact operations, stages included', () => {
    const complete = renderRunbookDoc(loadRunbook('complete'));
    expect(complete).toMatch(/^# Complete system rollback\n/);
    expect(complete).toMatch(/\*\*Time to execute:\*\* 30 min/);
    expect(complete).toMatch(/### Stage: Previous release \(confirmed once for all its changes\)/);
    expect(complete).toMatch(/`application\.deploy` · `release\.deploy` · changes the system; asks first/);
    expect(complete).toContain('command git -C ./app checkout --quiet --detach <the commit chosen by the plan>');
    const flag = renderRunbookDoc(loadRunbook('flag'));
    expect(flag).toContain(
      'http    POST http://localhost:8080/api/admin/feature-flags/enhanced_trimp_calculation/toggle {"user_type":"admin","enabled":false}',
    );
    expect(builtinRunbookIds()).not.toContain('decision-matrix');
  });

  it('--check exits 1 naming a stale page, and 0 once regenerated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trimp-docs-'));
    try {
      expect((await cli(['runbooks', 'docs', '--out', dir])).exitCode).toBe(0);
      expect((await cli(['runbooks', 'docs', '--check', '--out', dir])).exitCode).toBe(0);
      writeFileSync(join(dir, 'flag.md'), 'edited by hand\n');
      const stale = await cli(['runbooks', 'docs', '--check', '--out', dir]);
      expect(stale.exitCode).toBe(1);
      expect(stale.stderr).toMatch(new RegExp(`stale: ${dir}/flag\\.md; run trimp-rollback runbooks docs --out ${dir}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

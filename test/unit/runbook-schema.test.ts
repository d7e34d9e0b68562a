import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/config/yaml-file.js';
import { builtinRunbookFiles, lintRunbookFile, loadRunbook } from '../../src/runbook/load.js';
import { runbookJsonSchema } from '../../src/runbook/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'runbook-schema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function lint(text: string) {
  const file = join(dir, `book-${counter++}.yaml`);
  writeFileSync(file, text);
  const result = lintRunbookFile(file);
  if (result.ok) throw new Error('expected the runbook to be refused');
  return result.issues.map((issue) => ({ ...issue, text: formatIssue(issue) }));
}

const HEADER = `version: 1
id: custom
title: Custom
use_case: testing
impact: none
budget: 5m
`;

describe('runbook schema', () => {
  it('accepts every built-in runbook', () => {
    expect(builtinRunbookFiles().length).toBeGreaterThan(0);
    for (const file of builtinRunbookFiles()) expect(lintRunbookFile(file).ok).toBe(true);
    const flag = loadRunbook('flag');
    expect(flag.budgetMs).toBe(300_000);
    expect(flag.steps.map((s) => s.id)).toEqual([
      'baseline',
      'assess',
      'set-flag',
      'verify',
      'health',
      'validate',
      'draft-notice',
      'notify-users',
    ]);
  });

  it('refuses an unknown key with its line', () => {
    const [issue] = lint(`${HEADER}steps:\n  - id: a\n    title: A\n    action: app.health\n    retries: 3\n`);
    expect(issue).toMatchObject({ line: 11, path: 'steps[0].retries' });
    expect(issue!.message).toMatch(/unknown key "retries"/);
  });

  it('refuses a wrong type with its line', () => {
    const [issue] = lint(`${HEADER.replace('title: Custom', 'title: 42')}steps:\n  - id: a\n    title: A\n    action: app.health\n`);
    expect(issue).toMatchObject({ line: 3, path: 'title' });
    expect(issue!.message).toMatch(/expected string/);
  });

  it('refuses an unknown action, naming the known ones', () => {
    const [issue] = lint(`${HEADER}steps:\n  - id: a\n    title: A\n    action: flag.toggle\n`);
    expect(issue).toMatchObject({ line: 10, path: 'steps[0].action' });
    expect(issue!.message).toMatch(/unknown action "flag.toggle"; expected one of .*flag.set/);
  });

  it('refuses duplicate step ids at the second one', () => {
    const [issue] = lint(
      `${HEADER}steps:\n  - id: a\n    title: A\n    action: app.health\n  - id: a\n    title: B\n    action: app.health\n`,
    );
    expect(issue).toMatchObject({ line: 11, path: 'steps[1].id' });
    expect(issue!.message).toMatch(/duplicate step id "a"/);
  });

  it('refuses a reference to an undeclared input and a malformed reference', () => {
    const issues = lint(
      `${HEADER}inputs:\n  flag:\n    type: string\nsteps:\n  - id: a\n    title: A\n    action: flag.assess\n    with:\n      flag: \${inputs.flga}\n  - id: b\n    title: B\n    action: flag.assess\n    with:\n      flag: "x-\${inputs.flag}"\n`,
    );
    expect(issues[0]).toMatchObject({ line: 15, path: 'steps[0].with.flag' });
    expect(issues[0]!.message).toMatch(/undeclared input "flga"; declared: flag/);
    expect(issues[1]).toMatchObject({ line: 20, path: 'steps[1].with.flag' });
    expect(issues[1]!.message).toMatch(/bad reference/);
  });

  it('refuses an unknown parameter and a missing required one', () => {
    const issues = lint(`${HEADER}steps:\n  - id: a\n    title: A\n    action: flag.set\n    with:\n      flag: x\n      sates: {}\n`);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/no parameter "sates"/);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/needs parameter "states"/);
  });

  it('reports YAML syntax errors with their line', () => {
    const [issue] = lint(`${HEADER}steps:\n  - id: a\n    title: [unclosed\n`);
    expect(issue!.line).toBeGreaterThanOrEqual(9);
    expect(issue!.text).toMatch(/book-\d+\.yaml:\d+:\d+: /);
  });

  it('refuses another schema version', () => {
    const [issue] = lint(`${HEADER.replace('version: 1', 'version: 2')}steps:\n  - id: a\n    title: A\n    action: app.health\n`);
    expect(issue).toMatchObject({ line: 1, path: 'version' });
  });

  it('exports a JSON Schema that names the actions', () => {
    const schema = runbookJsonSchema() as { properties: { steps: unknown } };
    expect(JSON.stringify(schema.properties.steps)).toContain('flag.set');
  });
});

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/checks/run-checks.js';
import { githubAnnotations, githubSummary } from '../../src/report/github.js';
import { cleanForXml, renderJUnit } from '../../src/report/junit.js';
import { randomSource } from '../../src/sandbox/seed.js';

const report = (over: Partial<CheckReport>): CheckReport => ({
  name: 'app-responsive',
  group: 'system-health',
  title: 'Application is running and responsive',
  status: 'pass',
  summary: 'ok',
  duration_ms: 12,
  ...over,
});

const parse = (xml: string) => new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);

describe('JUnit XML', () => {
  it('is valid XML with one testcase per check, failures carrying evidence', () => {
    const xml = renderJUnit([
      report({}),
      report({
        name: 'no-corruption',
        group: 'data-integrity',
        status: 'fail',
        summary: 'quick_check: page 4 <bad> & "worse"',
        remedy: 'restore',
        evidence: { quick_check: ['Page 4: btreeInitPage() returns error code 11'] },
      }),
      report({ name: 'schema-consistent', status: 'skip', summary: 'no baseline' }),
    ]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '3', failures: '1', skipped: '1' });
    expect(suite.testcase.map((t: { name: string }) => t.name)).toEqual(['app-responsive', 'no-corruption', 'schema-consistent']);
    expect(suite.testcase[1].failure.message).toBe('quick_check: page 4 <bad> & "worse"');
    expect(suite.testcase[1].failure['#text']).toContain('btreeInitPage() returns error code 11');
  });

  it('stays valid when evidence holds ANSI codes and control characters', () => {
    const nasty = '\u001b[31mred\u001b[0m \u0000nul \u0007bell \u001b]0;title\u0007 \uFFFE \uD800 tab\tnewline\n< > & " \'';
    const xml = renderJUnit([report({ status: 'fail', summary: nasty, remedy: nasty, evidence: { out: nasty } })]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const failure = parse(xml).testsuites.testsuite.testcase.failure;
    expect(failure.message).toContain('red');
    expect(failure.message).not.toContain('\u001b');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting they are gone
    expect(failure['#text']).not.toMatch(/[\u0000\u0007\u001b]/);
  });

  it('holds up for random strings (a thousand of them)', () => {
    const random = randomSource(7);
    for (let i = 0; i < 1000; i++) {
      const length = Math.floor(random() * 40);
      const text = Array.from({ length }, () => String.fromCodePoint(Math.floor(random() * 0x30000) % 0x10ffff)).join('');
      const xml = renderJUnit([report({ status: 'fail', summary: text, evidence: { text } })]);
      expect(XMLValidator.validate(xml), JSON.stringify(text)).toBe(true);
    }
    expect(cleanForXml('a\u001b[1mb\u0001c')).toBe('abc');
  });
});

describe('GitHub Actions outputs', () => {
  it('annotates failures and warnings, and summarises in Markdown', () => {
    const reports = [
      report({}),
      report({ name: 'user-errors', status: 'fail', summary: '12 errors in 40 requests\nsecond line', remedy: 'roll the flag back' }),
      report({ name: 'performance', status: 'warn', summary: 'p99 1200 ms', remedy: 'watch it' }),
    ];
    expect(githubAnnotations(reports)).toBe(
      '::error title=trimp-rollback user-errors::12 errors in 40 requests%0Asecond line — roll the flag back\n::warning title=trimp-rollback performance::p99 1200 ms — watch it\n',
    );
    const summary = githubSummary(reports);
    expect(summary).toContain('1 passed, 1 warned, 1 failed, 0 skipped');
    expect(summary).toContain('| ❌ | `user-errors` |');
  });
});

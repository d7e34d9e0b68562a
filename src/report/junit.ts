import type { CheckReport } from '../checks/run-checks.js';

/**
 * JUnit XML, one testcase per check. Hand-written rather than built with a library: evidence
 * may hold ANSI codes and control characters, which must be stripped (XML 1.0 cannot carry
 * them), and the rest escaped.
 */
export function renderJUnit(reports: CheckReport[], suiteName = 'trimp-rollback validate', timestamp = new Date()): string {
  const failures = reports.filter((r) => r.status === 'fail').length;
  const skipped = reports.filter((r) => r.status === 'skip').length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = reports.reduce((sum, r) => sum + r.duration_ms, 0);
  const cases = reports.map((r) => {
    const open = `    <testcase classname="${attr(`trimp-rollback.${r.group}`)}" name="${attr(r.name)}" time="${seconds(r.duration_ms)}">`;
    const detail = text(
      [r.summary, r.remedy ? `remedy: ${r.remedy}` : '', r.evidence ? `evidence: ${JSON.stringify(r.evidence, null, 2)}` : '']
        .filter(Boolean)
        .join('\n'),
    );
    let body = '';
    if (r.status === 'fail') body = `\n      <failure message="${attr(r.summary)}" type="check-failed">${detail}</failure>\n    `;
    else if (r.status === 'skip') body = `\n      <skipped message="${attr(r.summary)}"/>\n    `;
    else body = `\n      <system-out>${detail}</system-out>\n    `;
    return `${open}${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(suiteName)}" tests="${reports.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}">`,
    `  <testsuite name="${attr(suiteName)}" tests="${reports.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}" timestamp="${timestamp.toISOString()}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
// XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what XML forbids
const INVALID_XML = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function cleanForXml(value: string): string {
  return value.replace(ANSI, '').replace(INVALID_XML, '');
}

function text(value: string): string {
  return cleanForXml(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

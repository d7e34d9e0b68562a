import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox, userTraffic } from '../helpers/sandbox.js';

interface Validation {
  status: string;
  reference_run: string | null;
  counts: Record<string, number>;
  checks: { name: string; status: string; summary: string; remedy?: string; evidence?: Record<string, unknown> }[];
}

let sandbox: TestSandbox;
let runId: string;
const scratch = mkdtempSync(join(tmpdir(), 'trimp-validate-'));

beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-validate-');
  runId = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config])).run_id;
});
afterAll(async () => {
  await sandbox?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

async function validate(...args: string[]): Promise<{ exitCode: number | undefined; doc: Validation; stderr: string }> {
  const result = await cli(['validate', '--json', '--config', sandbox.config, ...args]);
  return { exitCode: result.exitCode, doc: jsonOf<Validation>(result), stderr: result.stderr };
}
const statusOf = (doc: Validation, name: string) => doc.checks.find((c) => c.name === name)?.status;
const check = (doc: Validation, name: string) => doc.checks.find((c) => c.name === name)!;
const calculate = (userId: number) =>
  fetch(`${sandbox.baseUrl}/api/trimp/calculate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, duration_minutes: 60, avg_hr: 150, hr_stream: Array(60).fill(150) }),
  }).then((r) => r.status);

describe('validate on a healthy sandbox', () => {
  it('without user traffic since the change, it does not pass the user checks: not enough evidence', async () => {
    const { exitCode, doc } = await validate('--since', runId, '--checks', 'user-errors,performance');
    expect(exitCode).toBe(0);
    for (const name of ['user-errors', 'performance']) {
      expect(check(doc, name)).toMatchObject({
        status: 'warn',
        summary: expect.stringMatching(/^not enough evidence yet: \d+ user request\(s\) since the change, 50 needed/),
        remedy: expect.stringMatching(/--settle/),
      });
    }
  });

  it('passes every check of the checklist, on enough user traffic, compared with the run baseline', async () => {
    const users = userTraffic(sandbox.baseUrl);
    let result: Awaited<ReturnType<typeof validate>>;
    try {
      result = await validate('--since', runId, '--settle', '20s');
    } finally {
      users.stop();
    }
    const { exitCode, doc } = result;
    expect(exitCode).toBe(0);
    expect(doc.reference_run).toBe(runId);
    expect(doc.checks).toHaveLength(15);
    for (const c of doc.checks) expect(c.status, `${c.name}: ${c.summary}`).toBe('pass');
    expect(check(doc, 'trimp-app-answer').summary).toMatch(
      /user 1: average 129.36 \(10 of 10\), user 2: average 129.36 \(10 of 10\), user 4: average 129.36 \(10 of 10\)/,
    );
    expect(check(doc, 'user-errors').summary).toMatch(
      /^0 errors in ([5-9]\d|\d{3,}) user requests .*admin 0\/\d+, beta 0\/\d+, regular 0\/\d+/,
    );
  });

  it('writes JUnit XML that a real parser reads, one testcase per check', async () => {
    const file = join(scratch, 'validate.xml');
    const result = await cli([
      'validate',
      '--junit',
      file,
      '--checks',
      'app-responsive,trimp-reference,schema-consistent',
      '--since',
      '2026-01-01T00:00:00Z',
      '--config',
      sandbox.config,
    ]);
    expect(result.exitCode, result.stdout).toBe(0);
    const xml = readFileSync(file, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const suite = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml).testsuites.testsuite;
    expect(suite).toMatchObject({ tests: '3', failures: '0', skipped: '1' });
    expect(result.stdout).toMatch(/System health\n {2}✓ app-responsive/);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('refuses unknown checks and a bad --since with exit 2', async () => {
    const unknown = await cli(['validate', '--checks', 'vibes', '--config', sandbox.config]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/unknown check "vibes"; checks: app-responsive, api-endpoints/);
    for (const garbage of ['yesterday', '2026-13-45T99:99:99Z', 'undefined', '']) {
      const since = await cli(['validate', '--since', garbage, '--config', sandbox.config]);
      expect(since.exitCode, garbage).toBe(2);
      expect(since.stderr.trim().split('\n'), garbage).toHaveLength(1);
      expect(since.stderr).toMatch(/--since must be a run id in .* or an ISO time/);
    }
  });
});

describe('validate fails for the right reason', () => {
  it('a stopped app: the app checks fail, the data checks still pass; GitHub gets annotations and a summary', async () => {
    await sandbox.stop();
    try {
      const summary = join(scratch, 'summary.md');
      writeFileSync(summary, '');
      const result = await cli(['validate', '--json', '--config', sandbox.config, '--since', runId], {
        env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
      });
      expect(result.exitCode).toBe(1);
      const doc = jsonOf<Validation>(result);
      for (const name of ['app-responsive', 'api-endpoints', 'users-can-reach', 'trimp-app-answer', 'user-errors', 'performance']) {
        expect(statusOf(doc, name), name).toBe('fail');
        expect(check(doc, name).summary).toMatch(/cannot reach the app/);
      }
      for (const name of ['database', 'no-corruption', 'historical-data', 'schema-consistent', 'new-data', 'trimp-stored-values'])
        expect(statusOf(doc, name), name).toBe('pass');
      expect(result.stderr).toMatch(/^::error title=trimp-rollback app-responsive::cannot reach the app at/m);
      expect(readFileSync(summary, 'utf8')).toMatch(/## trimp-rollback post-rollback validation[\s\S]*\| ❌ \| `app-responsive` \|/);
    } finally {
      await sandbox.start();
    }
  });

  it('a corrupt database: no-corruption fails with what quick_check found', async () => {
    await cli(['sandbox', 'break', '--dir', sandbox.dir, 'corrupt-db']);
    try {
      const { exitCode, doc } = await validate('--checks', 'no-corruption,app-responsive');
      expect(exitCode).toBe(1);
      expect(check(doc, 'no-corruption')).toMatchObject({
        status: 'fail',
        summary: expect.stringMatching(/quick_check found \d+ problem/),
        remedy: expect.stringMatching(/database rollback/),
      });
      expect(statusOf(doc, 'app-responsive')).toBe('fail');
    } finally {
      await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
    }
  });

  it('an error spike: user-errors fails on the error rate, logs-clean on the ERROR lines', async () => {
    const before = new Date().toISOString();
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
    await cli(['sandbox', 'break', '--dir', sandbox.dir, 'trimp-errors', '--share', '1']);
    try {
      for (let i = 0; i < 12; i++) expect(await calculate(4)).toBe(500);
      const { exitCode, doc } = await validate('--checks', 'user-errors,logs-clean', '--since', before);
      expect(exitCode).toBe(1);
      // Errors seen are evidence enough to fail, even on fewer than 50 requests.
      expect(check(doc, 'user-errors').summary).toMatch(/^1[2-9] errors in \d+ user requests .*: too many errors for regular/);
      expect(check(doc, 'logs-clean')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^1[2-9] error lines since/) });
    } finally {
      await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
    }
  });

  it('slow responses: performance fails on p95', async () => {
    const before = new Date().toISOString();
    await cli(['sandbox', 'break', '--dir', sandbox.dir, 'slow', '--ms', '700']);
    try {
      for (let i = 0; i < 3; i++) await calculate(4);
      const { doc } = await validate('--checks', 'performance', '--since', before);
      expect(check(doc, 'performance')).toMatchObject({ status: 'fail', summary: expect.stringMatching(/p95 [5-9]\d\d(\.\d+)? ms/) });
    } finally {
      await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
    }
  });

  it('full logs of errors: logs-clean fails and shows the lines', async () => {
    const now = new Date().toISOString();
    appendFileSync(join(sandbox.logsDir, 'error.log'), `${now} CRITICAL database connection pool exhausted\n`);
    const { doc } = await validate('--checks', 'logs-clean', '--since', now);
    expect(check(doc, 'logs-clean')).toMatchObject({ status: 'fail', evidence: { critical: 1 } });
  });

  it('wrong TRIMP: a defective release fails trimp-app-answer; an activity computed by the enhanced method after the flag went off fails trimp-stored-values', async () => {
    await cli(['flag', '--all', '--yes', '--config', sandbox.config]);
    await cli(['sandbox', 'break', '--dir', sandbox.dir, 'bad-deploy', '--defect', 'trimp']);
    try {
      const { doc } = await validate('--checks', 'trimp-app-answer');
      expect(check(doc, 'trimp-app-answer').summary).toMatch(/user 1: the app answered TRIMP 64.68, expected 129.36/);
    } finally {
      await cli(['sandbox', 'heal', '--dir', sandbox.dir]);
    }
    // Well past the grace a request in flight at the flip gets (2 s).
    const later = new Date(Date.now() + 10_000).toISOString();
    await execa('sqlite3', [
      sandbox.database,
      `INSERT INTO activities (user_id, date, duration_minutes, avg_heart_rate, trimp, trimp_calculation_method, trimp_processed_at) VALUES (4, '2026-11-28 10:00:00', 60, 150, 1.0, 'stream', '${later}')`,
    ]);
    const { doc } = await validate('--checks', 'trimp-stored-values');
    expect(check(doc, 'trimp-stored-values').status).toBe('fail');
    expect(JSON.stringify(check(doc, 'trimp-stored-values').evidence)).toMatch(/used the stream method at .* after the flag went off/);
  });

  it('logs-no-secrets: a password hash and a database password in the logs fail it, said by kind and line, never repeated', async () => {
    const clean = await validate('--checks', 'logs-no-secrets');
    expect(clean.exitCode).toBe(0);
    expect(check(clean.doc, 'logs-no-secrets').summary).toMatch(/^none found in \d+ log file\(s\)/);
    // As the public app writes them: its login logs the user's row, hash included (werkzeug's
    // scrypt format), and its start-up prints the start of DATABASE_URL.
    const hash = 'scrypt:32768:8:1$kM3pQ9zR1xT5vW2y$5f2b9c0e7a41d3c8e6f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8';
    const log = join(sandbox.logsDir, 'app.err');
    writeFileSync(
      log,
      [
        '2026-11-29 03:00:00,001 INFO starting',
        '2026-11-29 03:00:00,002 INFO Database URL: postgresql://trainer:db-Pa55word@10.0.0.5:5432/train',
        `2026-11-29 03:00:05,120 INFO auth: Found user data: {'id': 1, 'email': 'a@example.com', 'password_hash': '${hash}'}`,
        '2026-11-29 03:00:05,121 INFO login ok',
        '',
      ].join('\n'),
    );
    try {
      const result = await cli(['validate', '--checks', 'logs-no-secrets', '--json', '--config', sandbox.config]);
      expect(result.exitCode).toBe(1);
      const found = check(jsonOf<Validation>(result), 'logs-no-secrets');
      expect(found.status).toBe('fail');
      expect(found.summary).toBe(
        '2 log line(s) hold a secret: database URL with a password, password hash (werkzeug), in app.err (lines 2, 3)',
      );
      for (const secret of [hash, 'db-Pa55word', 'kM3pQ9zR1xT5vW2y']) {
        expect(result.stdout).not.toContain(secret);
        expect(result.stderr).not.toContain(secret);
      }
    } finally {
      rmSync(log, { force: true });
    }
  });

  it('deleted rows: historical-data fails against the baseline', async () => {
    await execa('sqlite3', [sandbox.database, 'DELETE FROM activities WHERE activity_id <= 25']);
    const { exitCode, doc } = await validate('--checks', 'historical-data,schema-consistent', '--since', runId);
    expect(exitCode).toBe(1);
    expect(check(doc, 'historical-data').summary).toMatch(/^activities: \d+ rows, \d+ before/);
    expect(statusOf(doc, 'schema-consistent')).toBe('pass');
  });
});

describe('a hanging endpoint', () => {
  let server: Server;
  afterAll(() => server?.close());

  it('cannot hang the command: the check fails when its time is up', async () => {
    const sockets: import('node:net').Socket[] = [];
    server = createServer((socket) => sockets.push(socket)); // accepts, never answers
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    const config = join(scratch, 'hanging.yaml');
    writeFileSync(
      config,
      `state_dir: ${join(scratch, 'state')}\ntarget:\n  base_url: http://127.0.0.1:${port}\n  database: ${sandbox.database}\nvalidation:\n  check_timeout_ms: 500\n`,
    );
    const started = performance.now();
    const result = await cli(['validate', '--json', '--checks', 'app-responsive,api-endpoints,trimp-reference', '--config', config]);
    const elapsed = performance.now() - started;
    expect(result.exitCode).toBe(1);
    const doc = jsonOf<Validation>(result);
    expect(check(doc, 'app-responsive')).toMatchObject({ status: 'fail', summary: 'no result within 500 ms' });
    expect(check(doc, 'api-endpoints')).toMatchObject({ status: 'fail', summary: 'no result within 500 ms' });
    expect(statusOf(doc, 'trimp-reference')).toBe('pass');
    // Bounded, not fast: far below a hang, whatever the machine's load.
    expect(elapsed).toBeLessThan(30_000);
    for (const socket of sockets) socket.destroy();
  });
});

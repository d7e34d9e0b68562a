import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson } from '../helpers/cli.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-logs-');
});
afterAll(async () => {
  await sandbox?.remove();
});

const calculate = (userId: number) =>
  fetch(`${sandbox.baseUrl}/api/trimp/calculate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, duration_minutes: 60, avg_hr: 150, hr_stream: Array(60).fill(150) }),
  }).then((r) => r.arrayBuffer());

describe('logs collect', () => {
  it('bundles the logs with tar (secrets masked), groups the errors since the run began, and the report links it', async () => {
    // Before the run: an error that must not count, and a line that leaks the token.
    appendFileSync(join(sandbox.logsDir, 'error.log'), `2020-01-01T00:00:00.000Z ERROR an old failure id=42\n`);
    // A link out of the logs directory is never followed into a bundle made to be shared.
    symlinkSync('/etc/passwd', join(sandbox.logsDir, 'linked.log'));
    // A rotated, compressed log is binary: bundled byte for byte, not read as text.
    const rotated = gzipSync(Buffer.from('2020-01-01T00:00:00.000Z INFO rotated\n'));
    writeFileSync(join(sandbox.logsDir, 'application.log.1.gz'), rotated);
    appendFileSync(
      join(sandbox.logsDir, 'application.log'),
      `${new Date().toISOString()} INFO debug header Authorization: Bearer ${sandbox.token}\n`,
    );
    const run = jsonOf<RunJson>(await cli(['flag', '--user-type', 'beta', '--yes', '--json', '--config', sandbox.config]));
    expect((await cli(['sandbox', 'break', 'trimp-errors', '--share', '1', '--dir', sandbox.dir])).exitCode).toBe(0);
    for (const user of [4, 5, 6, 1]) await calculate(user); // regular ×3, admin ×1 fail; beta is rolled back

    const result = await cli(['logs', 'collect', '--run', run.run_id, '--json', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/note: left out \(not regular files\): linked\.log/);
    const out = jsonOf<{ bundle: string; summary: string; patterns: { shape: string; count: number; level: string }[] }>(result);
    expect(out.bundle).toMatch(new RegExp(`/runs/${run.run_id}/logs-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    const listing = execFileSync('tar', ['-tzf', out.bundle], { encoding: 'utf8' }).trim().split('\n');
    expect(listing.map((name) => name.replace(/^[^/]+\//, '')).sort()).toEqual([
      'application.log',
      'application.log.1.gz',
      'error.log',
      'sandbox.out',
      'trimp_calculation.log',
    ]);
    const inBundle = listing.find((name) => name.endsWith('application.log.1.gz')) as string;
    expect(execFileSync('tar', ['-xzOf', out.bundle, inBundle]).equals(rotated)).toBe(true);
    expect(out.patterns.map((p) => [p.count, p.shape])).toEqual([
      [3, 'TRIMP calculation failed: user_id=# user_type=regular method=stream reason="…"'],
      [1, 'TRIMP calculation failed: user_id=# user_type=admin method=stream reason="…"'],
    ]);
    const unpacked = execFileSync('tar', ['-xzOf', out.bundle], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(unpacked).toContain('INFO debug header Authorization: Bearer ***');
    expect(unpacked).not.toContain(sandbox.token);
    expect(readFileSync(out.summary, 'utf8')).toMatch(
      /\| 3 \| ERROR \| \S+ \| \S+ \| TRIMP calculation failed: user_id=# user_type=regular/,
    );
    expect(readFileSync(join(sandbox.stateDir, 'runs', run.run_id, 'report.md'), 'utf8')).toMatch(
      /## Logs\n\n- Bundle: `\S+\.tar\.gz`\n- Error patterns \(2\): `\S+\.errors\.md`/,
    );
    expect(execFileSync('stat', ['-c', '%a', out.bundle], { encoding: 'utf8' }).trim()).toBe('600');
  });

  it('bad input: an existing --out, a missing directory, an unknown run: exit 2, one line, nothing written', async () => {
    for (const [args, message] of [
      [['--out', sandbox.config], /--out must name a \.tar\.gz file/],
      [['--out', '/nonexistent/dir/x.tar.gz'], /the directory for --out does not exist: \/nonexistent\/dir/],
      [['--run', '20990101T000000.000Z-flag-0000'], /20990101T000000\.000Z-flag-0000/],
    ] as const) {
      const result = await cli(['logs', 'collect', ...args, '--config', sandbox.config]);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, ROOT } from '../helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'trimp-e2e-'));
const state = ['--state-dir', join(scratch, 'state')];
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Exit 2, exactly one line on stderr, no stack trace. */
function expectUsageError(result: { exitCode: number | undefined; stderr: string }, pattern: RegExp): void {
  expect(result.exitCode).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
}

describe('bad usage: exit 2, one line, no stack', () => {
  it.each([
    [['flag', '--all', '--bogus'], /unknown option '--bogus' — see trimp-rollback flag --help$/],
    [['flag', 'restor', '--run', 'x'], /unknown command 'flag restor' \(Did you mean flag restore\?\).*see trimp-rollback flag --help/],
    [['sandbox', 'strat', '--dir', '/tmp/x'], /unknown command 'sandbox strat' \(Did you mean sandbox start\?\)/],
    [['flag', '--al'], /unknown option '--al' \(Did you mean --all\?\) — see trimp-rollback flag --help$/],
    [['flag', 'restore'], /required option '--run <run_id>' not specified — see trimp-rollback flag restore --help/],
    [['validate', '--settle', 'soon', ...state], /--settle must be a duration such as 30s/],
    [['run', 'flag', '--input', '__proto__=1', '--dry-run', ...state], /runbook flag has no input "__proto__"/],
    [['resume', '', ...state], /"" is not a run id — list the runs with: trimp-rollback runs list --state-dir /],
    [['resume', '../../../etc', ...state], /"\.\.\/\.\.\/\.\.\/etc" is not a run id/],
    [['flag', '--all', '--yes', '--via', 'db', '--database', '/etc', ...state], /database path is not a file: \/etc/],
    [['flag', '--yes'], /say which users: --all, or --user-type/],
    [['flag', '--user-type', 'admins'], /unknown user type "admins"; user types are admin, beta, regular/],
    [['flag', '--all', '--user-type', 'beta'], /either --all or --user-type/],
    [['flag', '--all', '--via', 'web'], /--via.*(api|choices)/],
    [['nonsense'], /unknown command 'nonsense'/],
    [['flag', '--all', '--config', '/nonexistent/trimp.yaml'], /config file not found: \/nonexistent\/trimp.yaml/],
    [['runbooks', 'list', '--config', '/nonexistent/trimp.yaml'], /config file not found: \/nonexistent\/trimp.yaml/],
    [['flag', '--all', '--yes', '--via', 'db', '--database', '/nonexistent/training.db', ...state], /database file not found/],
    [['flag', '--all', '--yes', '--token-file', '/nonexistent/token', ...state], /admin token file not found/],
    [['resume', 'no-such-run', ...state], /no journal at/],
    [
      ['trimp', '--duration', '60', '--avg-hr', '150', '--resting-hr', '50', '--max-hr', '40', '--sex', 'male'],
      /max heart rate \(40\) must be above/,
    ],
    [
      ['trimp', '--duration', 'sixty', '--avg-hr', '150', '--resting-hr', '50', '--max-hr', '180', '--sex', 'male'],
      /--duration must be a number/,
    ],
  ])('%j', async (args, pattern) => {
    expectUsageError(await cli(args), pattern);
  });

  it('a malformed runbook: the file, the line and what to fix', async () => {
    const file = join(ROOT, 'test/fixtures/runbooks/bad-reference.yaml');
    expectUsageError(
      await cli(['run', file, '--yes', ...state]),
      /bad-reference\.yaml:12:\d+: steps\[0\]\.with\.app: reference to undeclared input "ap"/,
    );
    const lint = await cli(['runbooks', 'lint', file]);
    expect(lint.exitCode).toBe(2);
    expect(lint.stdout).toMatch(/bad-reference\.yaml:12:\d+: /);
  });

  it('a malformed config file: the file and the line', async () => {
    const config = join(scratch, 'bad.yaml');
    writeFileSync(config, 'target:\n  base_url: http://localhost:8080\n  databse: x.db\n');
    expectUsageError(await cli(['flag', '--all', '--config', config]), /bad\.yaml:3:3: target\.databse: unknown key "databse"/);
  });

  it('a missing admin token is found before the first step, and nothing is journaled', async () => {
    const result = await cli(['flag', '--all', '--yes', '--base-url', 'http://127.0.0.1:9', ...state], { env: { TRIMP_ADMIN_TOKEN: '' } });
    expectUsageError(
      result,
      /no admin token for http:\/\/127.0.0.1:9: none in TRIMP_ADMIN_TOKEN, TRIMP_ADMIN_TOKEN_FILE, --token-file or target.token_file/,
    );
    expect(existsSync(join(scratch, 'state', 'runs'))).toBe(false);
  });

  it('limits: an alias bomb, a huge runbook, too many steps and an absurd timeout are refused with exit 2', async () => {
    const bomb = join(scratch, 'bomb.yaml');
    const levels = Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(',')}]`);
    writeFileSync(bomb, ['version: 1', 'l0: &l0 [lol]', ...levels, ''].join('\n'));
    expectUsageError(await cli(['runbooks', 'show', bomb]), /bomb\.yaml:1:1: cannot expand the document .*too many YAML aliases/);

    const huge = join(scratch, 'huge.yaml');
    writeFileSync(huge, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    expectUsageError(await cli(['run', huge, '--yes', ...state]), /huge\.yaml is 2\.0 MiB; a runbook is at most 1 MiB/);

    const long = join(scratch, 'long.yaml');
    const steps = Array.from({ length: 101 }, (_, i) => `  - { id: s${i}, title: wait ${i}, action: wait, with: { duration: 1ms } }`);
    writeFileSync(
      long,
      ['version: 1', 'id: long', 'title: Long', 'use_case: x', 'impact: x', 'budget: 5m', 'steps:', ...steps, ''].join('\n'),
    );
    expectUsageError(await cli(['run', long, '--yes', ...state]), /long\.yaml:\d+:\d+: steps: a runbook has at most 100 steps/);

    const config = join(scratch, 'timeout.yaml');
    writeFileSync(config, 'target:\n  http_timeout_ms: 99999999999999\n');
    expectUsageError(await cli(['flag', '--all', '--config', config]), /timeout\.yaml:2:3: target\.http_timeout_ms: .*600000/);
  });

  it('--json errors still print exactly one JSON document, usage errors included', async () => {
    const result = await cli(['flag', '--all', '--json', '--config', '/nonexistent/trimp.yaml']);
    expect(result.exitCode).toBe(2);
    expect(jsonOf(result)).toMatchObject({ error: { code: 'config-missing' }, exit_code: 2 });
    const usage = await cli(['flag', '--all', '--json', '--bogus']);
    expect(usage.exitCode).toBe(2);
    expect(jsonOf(usage)).toMatchObject({ error: { code: 'commander.unknownOption', message: "unknown option '--bogus'" }, exit_code: 2 });
  });
});

describe('an unreachable app', () => {
  it('fails the run with exit 1, says what is wrong and what to do, and journals it', async () => {
    const port = await closedPort();
    const result = await cli(['flag', '--all', '--yes', '--json', '--base-url', `http://127.0.0.1:${port}`, ...state], {
      env: { TRIMP_ADMIN_TOKEN: 'a-token-for-nobody' },
    });
    expect(result.exitCode).toBe(1);
    const run = jsonOf<{ status: string; steps: { id: string; status: string; summary: string }[]; resume_command: string }>(result);
    expect(run.status).toBe('failed');
    const assess = run.steps.find((s) => s.id === 'assess')!;
    expect(assess.status).toBe('failed');
    expect(assess.summary).toMatch(new RegExp(`cannot reach the app at http://127.0.0.1:${port} \\(ECONNREFUSED\\).*use --via db`));
    // Every later step did not run; the notice steps of a flag rollback are left out (skipped) whatever happens.
    const later = run.steps.slice(run.steps.indexOf(assess) + 1);
    expect(later.filter((s) => !s.summary.startsWith('left out')).every((s) => s.status === 'not-run')).toBe(true);
    expect(run.resume_command).toBe(
      `trimp-rollback resume ${(run as unknown as { run_id: string }).run_id} --state-dir ${join(scratch, 'state')} --base-url http://127.0.0.1:${port} --yes`,
    );
    expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
  });
});

describe('trimp command', () => {
  const seed = ['trimp', '--duration', '60', '--avg-hr', '150', '--resting-hr', '50', '--max-hr', '180'];
  it('prints the seed example to two decimals, and full precision in JSON', async () => {
    expect((await cli([...seed, '--sex', 'male'])).stdout.trim()).toBe('129.36 (average method)');
    const json = jsonOf<{ trimp: number; method: string }>(await cli([...seed, '--sex', 'male', '--json']));
    expect(json.method).toBe('average');
    expect(json.trimp).toBeCloseTo(129.3622, 4);
  });
  it('offers the literature female prefactor', async () => {
    expect((await cli([...seed, '--sex', 'female'])).stdout.trim()).toBe('106.73 (average method)');
    expect((await cli([...seed, '--sex', 'female', '--constants', 'literature'])).stdout.trim()).toBe('143.42 (average method)');
  });
  it('computes from a stream file, and refuses a stream the app would reject', async () => {
    const stream = join(scratch, 'stream.json');
    writeFileSync(stream, JSON.stringify(Array.from({ length: 12 }, () => [120, 125, 130, 135, 140]).flat()));
    const args = ['trimp', '--duration', '1', '--resting-hr', '50', '--max-hr', '180', '--sex', 'male', '--stream', stream, '--json'];
    expect(jsonOf<{ trimp: number; method: string }>(await cli(args))).toMatchObject({ method: 'stream' });
    expect(jsonOf<{ trimp: number }>(await cli(args)).trimp).toBeCloseTo(1.3026, 4);
    // As the app does: a stream it rejects is stored as 0.0, said with the reason.
    writeFileSync(stream, JSON.stringify([0, 0, 0, 0, 0, 0, 0, 0, 0, 150]));
    expect(jsonOf<{ trimp: number; method: string; formula: string }>(await cli(args))).toMatchObject({
      trimp: 0,
      method: 'stream',
      formula: 'rejected',
    });
    const plain = await cli(args.filter((a) => a !== '--json'));
    expect(plain.stdout.trim()).toBe(
      '0.00 (stream rejected: 9 of 10 samples are invalid (more than 80%); the app stores 0.0 for such a stream)',
    );
  });
  it('refuses --avg-hr with --stream, and warns as the app does about out-of-range heart rates', async () => {
    const stream = join(scratch, 'stream2.json');
    writeFileSync(stream, JSON.stringify(Array(60).fill(150)));
    expectUsageError(await cli([...seed, '--sex', 'male', '--stream', stream]), /give --avg-hr .* or --stream FILE .*, not both/);
    const above = await cli(['trimp', '--duration', '60', '--avg-hr', '250', '--resting-hr', '50', '--max-hr', '180', '--sex', 'male']);
    expect(above.exitCode).toBe(0);
    expect(above.stdout.trim()).toBe('261.92 (average method)');
    expect(above.stderr).toMatch(/warning: --avg-hr 250 is above --max-hr 180: the heart-rate reserve is clamped to 1/);
  });
});

describe('runbooks commands', () => {
  it('list, show and schema work and exit 0', async () => {
    expect((await cli(['runbooks', 'list'])).stdout).toMatch(/^flag\s+Feature flag rollback \(budget 5 min, 8 steps\)/m);
    const show = await cli(['runbooks', 'show', 'flag']);
    expect(show.stdout).toMatch(/set-flag: Set the feature flag per user type \[flag\.set, print, asks first\]/);
    const schema = jsonOf<{ title: string }>(await cli(['runbooks', 'schema']));
    expect(schema.title).toMatch(/runbook/);
    expect((await cli(['runbooks', 'lint'])).exitCode).toBe(0);
  });
});

/** A loopback port that nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

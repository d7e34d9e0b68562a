import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson, spawnCli } from '../helpers/cli.js';
import { journalEvents } from '../helpers/processes.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** The metric series a run samples beside itself, --observe and --sample-every, and `report RUN [--html]`. */
let sandbox: TestSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-report-', { traffic: 20 });
});
afterAll(async () => {
  await sandbox?.remove();
});

/** The run's metrics file, read line by line. */
function samplesOf(journal: string): { from: string; at: string; error?: string; slices: Record<string, unknown> }[] {
  const path = join(dirname(journal), 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('metrics sampled beside a run', () => {
  it('every second by default, from before the run began; --observe keeps sampling after the run, its lock already free', async () => {
    const started = spawnCli(['flag', '--all', '--yes', '--json', '--observe', '3s', '--config', sandbox.config]);
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // While it observes, the run is over: the locks are free and the journal says it finished.
    for (let i = 0; i < 100 && !stderr.includes('Observing the metrics'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toMatch(/Observing the metrics for 3\.00 s after the run \(Ctrl-C ends it early\)/);
    const status = await cli(['status', '--json', '--config', sandbox.config]);
    const locks = jsonOf<{ locks: { free?: boolean }[] }>(status).locks;
    expect(locks.every((lock) => lock.free)).toBe(true);
    const result = await started;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const run = JSON.parse(String(result.stdout)) as RunJson;
    const events = journalEvents(run.journal as string);
    const samples = samplesOf(run.journal as string);
    expect(Date.parse(samples[0]?.from ?? '')).toBeLessThan(Date.parse(run.started_at));
    expect(Object.keys(samples[0]?.slices ?? {}).sort()).toEqual(['admin', 'all', 'beta', 'regular']);
    // The spans tile: each begins where the one before it ended.
    for (let i = 1; i < samples.length; i++) expect(samples[i]?.from).toBe(samples[i - 1]?.at);
    const finished = events.find((e) => e.type === 'run.finished')?.ts as string;
    // 3 s at 1 s after the end, the last one a closing sample over the final partial second.
    expect(samples.filter((s) => s.at > finished).length).toBeGreaterThanOrEqual(3);
    expect(Date.parse(samples.at(-1)?.at ?? '') - Date.parse(finished)).toBeGreaterThanOrEqual(2500);
    // The journal holds the rollback only: no sample in it.
    expect(events.at(-1)?.type).toBe('run.finished');
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  });

  it('--sample-every off samples nothing, and the report says the charts have no series', async () => {
    const result = await cli(['flag', '--all', '--yes', '--json', '--sample-every', 'off', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    expect(samplesOf(run.journal as string)).toHaveLength(0);
    const html = readFileSync(join(dirname(run.journal as string), 'report.html'), 'utf8');
    expect(html).toContain('No metrics samples in this run');
    expect(html).toContain('data-chart="timeline"');
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  });

  it('bad values are one line and exit 2, before anything runs', async () => {
    for (const [flag, value, said] of [
      ['--observe', 'soon', /--observe must be a duration such as 30s, 2m or 1h, not "soon"/],
      ['--observe', '2h', /--observe is at most 60 min, not 2h/],
      ['--sample-every', '10ms', /--sample-every is at least 100ms, not 10ms \(or off\)/],
      ['--sample-every', 'never', /--sample-every must be a duration such as 1s or 5s, or off, not "never"/],
      ['--sample-every', '5m', /--sample-every is at most 1 min, not 5m/],
    ] as const) {
      const result = await cli(['flag', '--all', '--yes', flag, value, '--config', sandbox.config]);
      expect(result.exitCode, `${flag} ${value}`).toBe(2);
      expect(result.stderr).toMatch(said);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('an app without the metrics endpoint: unreadable samples are kept as such, said once, and sampling slows down but never stops', async () => {
    // A target whose metrics path answers 404: the sandbox's URL with a prefix that matches nothing.
    const config = join(sandbox.dir, 'no-metrics.yaml');
    writeFileSync(config, readFileSync(sandbox.config, 'utf8').replace(/base_url: (\S+)/, 'base_url: $1/nothing-here'));
    const result = await cli(['run', writeWait(), '--yes', '--json', '--config', config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    const samples = samplesOf(run.journal as string);
    expect(samples.length).toBeGreaterThanOrEqual(5);
    expect(samples.every((s) => s.error)).toBe(true);
    expect((result.stderr.match(/metrics unreadable for 5 samples in a row \(.*\); still sampling, less often/g) ?? []).length).toBe(1);
    // 6 s of run: 5 at one a second, then 2 s, 4 s apart (and a closing one): fewer than one a second.
    expect(samples.length).toBeLessThanOrEqual(8);
  });
});

function writeWait(): string {
  const path = join(sandbox.dir, 'wait.yaml');
  writeFileSync(
    path,
    'version: 1\nid: wait\ntitle: Wait\nuse_case: tests\nimpact: none\nbudget: 1m\nsteps:\n  - { id: pause, title: Pause, action: wait, with: { duration: 6s } }\n',
  );
  return path;
}

describe('trimp-rollback report RUN', () => {
  it('prints report.md, and with --html writes report.html again (0600) and prints its path', async () => {
    const result = await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    const html = join(dirname(run.journal as string), 'report.html');
    rmSync(html);
    const md = await cli(['report', run.run_id, '--config', sandbox.config]);
    expect(md.exitCode, md.stderr).toBe(0);
    expect(md.stdout).toMatch(new RegExp(`^# Rollback run ${run.run_id}\\n`));
    expect(existsSync(html)).toBe(false);
    const again = await cli(['report', run.run_id, '--html', '--config', sandbox.config]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe(html);
    expect(statSync(html).mode & 0o777).toBe(0o600);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain(`Rollback run ${run.run_id}`);
    expect(page).toContain('data-chart="error-rate"');
    expect(page).not.toContain(sandbox.token);
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  });

  it('an unknown run, a path for a run id, and a run without report.json: one line each, exit 2', async () => {
    const unknown = await cli(['report', '20260101T000000.000Z-flag-0000', '--config', sandbox.config]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/no journal at .*journal\.jsonl/);
    const path = await cli(['report', '../../etc', '--config', sandbox.config]);
    expect(path.exitCode).toBe(2);
    expect(path.stderr).toMatch(/"\.\.\/\.\.\/etc" is not a run id/);
    const result = await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]);
    const run = jsonOf<RunJson>(result);
    rmSync(join(dirname(run.journal as string), 'report.json'));
    const missing = await cli(['report', run.run_id, '--html', '--config', sandbox.config]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/has no report\.json/);
    for (const r of [unknown, path, missing]) expect(r.stderr).not.toMatch(/\n\s+at /);
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  });

  it('a reason that holds HTML is shown as text in report.html, never as markup', async () => {
    const result = await cli(['flag', '--all', '--yes', '--json', '--reason', '<img src=x onerror=alert(1)>', '--config', sandbox.config]);
    expect(result.exitCode, result.stderr).toBe(0);
    const run = jsonOf<RunJson>(result);
    const page = readFileSync(join(dirname(run.journal as string), 'report.html'), 'utf8');
    expect(page).not.toContain('<img');
    await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
  });
});

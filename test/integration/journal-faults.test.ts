import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, jsonOf } from '../helpers/cli.js';
import { journalOf } from '../helpers/journal.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

let sandbox: TestSandbox;
const off = { admin: false, beta: false, regular: false };
const on = { admin: true, beta: true, regular: true };

beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-journal-');
});
afterAll(async () => {
  await sandbox?.remove();
});
beforeEach(async () => {
  expect((await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config])).exitCode).toBe(0);
});

const journalFile = (runId: string, stateDir = sandbox.stateDir) => join(stateDir, 'runs', runId, 'journal.jsonl');

/** A finished flag rollback, then its journal cut in the middle of the line that starts `step`. */
async function runCutAt(step: string): Promise<string> {
  const run = jsonOf<{ run_id: string }>(await cli(['flag', '--all', '--yes', '--json', '--config', sandbox.config]));
  const path = journalFile(run.run_id);
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf(`"type":"step.started","step":"${step}"`);
  expect(at).toBeGreaterThan(0);
  truncateSync(path, Buffer.byteLength(text.slice(0, at + 20))); // the process died mid-write
  return run.run_id;
}

/** Exit 2, one line naming the file and line, no stack. */
function expectDamage(result: { exitCode: number | undefined; stderr: string }, pattern: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
}

describe('a torn last line', () => {
  it('is skipped and said; resume starts on a fresh line; the run, once finished, stays finished', async () => {
    const runId = await runCutAt('validate');
    const resumed = await cli(['resume', runId, '--yes', '--json', '--config', sandbox.config]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/note: .*journal\.jsonl:\d+: the last line was cut short .*; it is ignored/);
    const run = jsonOf<{ status: string; steps: { id: string; status: string }[] }>(resumed);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((step) => [step.id, step.status])).toEqual([
      ['baseline', 'done-before'],
      ['assess', 'done-before'],
      ['set-flag', 'done-before'],
      ['verify', 'done-before'],
      ['health', 'done-before'],
      ['validate', expect.stringMatching(/^(succeeded|warned)$/)],
      ['draft-notice', 'skipped'],
      ['notify-users', 'skipped'],
    ]);
    // The fragment is still there (evidence), followed by a marker naming it, on a line of its own.
    const lines = readFileSync(journalFile(runId), 'utf8').split('\n');
    const torn = lines.findIndex((line) => line.endsWith('"step.sta') || !line.endsWith('}'));
    expect(JSON.parse(lines[torn + 1] as string)).toMatchObject({ type: 'journal.repaired', torn_line: torn + 1 });
    expect(journalOf(sandbox.stateDir, runId).at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });

    // What broke before: a finished run must not be replayed, and its undo must still work.
    const again = await cli(['resume', runId, '--yes', '--config', sandbox.config]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already succeeded; there is nothing to resume/);
    const newest = await cli(['resume', '--yes', '--config', sandbox.config]);
    expect(newest.exitCode).toBe(2);
    expect(newest.stderr).toMatch(/no interrupted or failed run/);
    expect(await sandbox.flags()).toEqual(off);
    const restore = await cli(['flag', 'restore', '--run', runId, '--yes', '--config', sandbox.config]);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await sandbox.flags()).toEqual(on);
  });
});

describe('a journal damaged in the middle, or not a journal at all', () => {
  it('is refused with exit 2 naming the file and the line, by every command that reads it', async () => {
    const runId = await runCutAt('health');
    // A later attempt appended onto the fragment without a newline (what the old code did).
    appendFileSync(
      journalFile(runId),
      `${JSON.stringify({ ts: new Date().toISOString(), type: 'run.finished', status: 'failed', duration_ms: 1 })}\n`,
    );
    const line = readFileSync(journalFile(runId), 'utf8').trimEnd().split('\n').length;
    const where = new RegExp(`journal\\.jsonl:${line}: the journal is damaged: not JSON`);
    expectDamage(await cli(['resume', runId, '--yes', '--config', sandbox.config]), where);
    expectDamage(await cli(['flag', 'restore', '--run', runId, '--yes', '--config', sandbox.config]), where);
    expectDamage(await cli(['validate', '--since', runId, '--config', sandbox.config]), where);
    expect(await sandbox.flags()).toEqual(off);
  });

  it.each([
    ['a null line', (lines: string[]) => [lines[0], 'null', ...lines.slice(1)], /:2: the journal is damaged: not a journal event/],
    [
      'a string where the runbook should be',
      (lines: string[]) => [JSON.stringify({ ...JSON.parse(lines[0] as string), runbook: 'flag' }), ...lines.slice(1)],
      /:1: the journal is damaged: not a journal event \(runbook: /,
    ],
    [
      'an event of no known type',
      (lines: string[]) => [
        ...lines.slice(0, 2),
        JSON.stringify({ ts: new Date().toISOString(), type: 'run.exploded' }),
        ...lines.slice(2),
      ],
      /:3: the journal is damaged: not a journal event \(type: /,
    ],
  ])('%s', async (_name, damage, pattern) => {
    const runId = await runCutAt('validate');
    const lines = readFileSync(journalFile(runId), 'utf8').split('\n').filter(Boolean);
    writeFileSync(journalFile(runId), `${damage(lines).join('\n')}\n`);
    expectDamage(await cli(['resume', runId, '--yes', '--config', sandbox.config]), pattern);
    expectDamage(await cli(['flag', 'restore', '--run', runId, '--yes', '--config', sandbox.config]), pattern);
    expectDamage(await cli(['validate', '--since', runId, '--config', sandbox.config]), pattern);
  });

  it('a directory named journal.jsonl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trimp-dirjournal-'));
    try {
      mkdirSync(join(dir, 'runs', '20261129T000000.000Z-flag-0000', 'journal.jsonl'), { recursive: true });
      const state = ['--state-dir', dir, '--config', sandbox.config];
      expectDamage(await cli(['resume', '20261129T000000.000Z-flag-0000', ...state]), /journal\.jsonl is not a file/);
      expectDamage(await cli(['flag', 'restore', '--run', '20261129T000000.000Z-flag-0000', ...state]), /is not a file/);
      expectDamage(await cli(['validate', '--since', '20261129T000000.000Z-flag-0000', ...state]), /is not a file/);
      const list = await cli(['runs', 'list', ...state]);
      expect(list.exitCode).toBe(0);
      expect(list.stdout).toMatch(/20261129T000000\.000Z-flag-0000: unreadable: .*is not a file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('a full disk (a 256 KiB tmpfs the test mounts, as root)', () => {
  const mount = mkdtempSync(join(tmpdir(), 'trimp-tmpfs-'));
  beforeAll(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mount]);
  });
  afterAll(() => {
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  });

  it('stops the run with one clear line (exit 1), leaves only whole lines and no lock; resume completes once there is room', async () => {
    const stateDir = join(mount, 'state');
    const filler = join(mount, 'filler');
    const outcomes: string[] = [];
    // Leave a little less room each time, until the journal itself runs out of it mid-run.
    for (const freeKiB of [32, 24, 16, 12, 8, 4]) {
      expect((await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config])).exitCode).toBe(0);
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(filler, { force: true });
      writeFileSync(filler, Buffer.alloc((256 - freeKiB) * 1024));
      const result = await cli(['flag', '--all', '--yes', '--state-dir', stateDir, '--config', sandbox.config]);
      outcomes.push(`${freeKiB} KiB free: exit ${result.exitCode}`);
      expect([0, 1], result.stderr).toContain(result.exitCode);
      expect(existsSync(join(stateDir, 'lock.json')), 'the state lock').toBe(false);
      expect(existsSync(`${sandbox.database}.trimp-rollback-lock`), 'the target lock').toBe(false);
      const runs = existsSync(join(stateDir, 'runs')) ? readdirSync(join(stateDir, 'runs')) : [];
      for (const id of runs) {
        const text = readFileSync(journalFile(id, stateDir), 'utf8');
        expect(text.length > 0 && text.endsWith('\n'), 'whole lines only, and no empty journal').toBe(true);
        // A report is whole or absent: never half a JSON document.
        const report = join(stateDir, 'runs', id, 'report.json');
        if (existsSync(report)) expect(() => JSON.parse(readFileSync(report, 'utf8'))).not.toThrow();
      }
      if (result.exitCode === 0) continue;
      expect(result.stderr).not.toMatch(/\bat .+:\d+:\d+/);
      const last = result.stderr.trim().split('\n').at(-1) as string;
      if (runs.length === 0) {
        // Not even the run's first event fitted: the run never started, and says so.
        expect(last).toMatch(
          /^trimp-rollback: .*disk full.*(the run did not start: nothing was changed|then try again|run the same command again)/,
        );
        expect(await sandbox.flags()).toEqual(on);
        continue;
      }
      expect(last).toMatch(
        /^trimp-rollback: the journal could not be written: disk full \(.*journal\.jsonl\); the run stopped here — free space in .*, then continue: trimp-rollback resume \S+ --config .* --state-dir .* --yes$/,
      );
      rmSync(filler);
      const resumeLine = /then continue: trimp-rollback (resume .*)$/.exec(last)?.[1] as string;
      const resumed = await cli(resumeLine.split(' '));
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(await sandbox.flags()).toEqual(off);
    }
    expect(
      outcomes.some((o) => o.endsWith('exit 1')),
      outcomes.join('; '),
    ).toBe(true);
  });
});

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, spawnCli } from '../helpers/cli.js';
import { type HostileServer, startHostileServer } from '../helpers/hostile-server.js';
import { journalOf, runIds, waitForEvent } from '../helpers/journal.js';

const RUNBOOK = join(ROOT, 'test/fixtures/runbooks/slow-health.yaml');
let slowApp: HostileServer;
const state = mkdtempSync(join(tmpdir(), 'trimp-interrupt-'));

beforeAll(async () => {
  // An app whose /health takes 3 s to answer "healthy".
  slowApp = await startHostileServer(async (_req, res) => {
    await sleep(3000);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'healthy', version: 'slow' }));
  });
});
afterAll(async () => {
  await slowApp?.close();
  rmSync(state, { recursive: true, force: true });
});

function start() {
  const known = runIds(state);
  const child = spawnCli(['run', RUNBOOK, '--yes', '--base-url', slowApp.url, '--state-dir', state], {
    env: { TRIMP_ADMIN_TOKEN: 'interrupt-test-token' },
  });
  const started = waitForEvent(state, known, (e) => e.type === 'step.started' && e.step === 'health');
  return { child, started };
}

describe('Ctrl-C during a read-only HTTP call', () => {
  it('the first lets the call finish (within its own timeout), then the run stops as interrupted (130), not failed', async () => {
    const { child, started } = start();
    const runId = await started;
    child.kill('SIGINT');
    const result = await child;
    expect(result.signal).toBe('SIGINT');
    const events = journalOf(state, runId);
    // It finished and said what it saw (healthy, but slow), instead of "cannot reach the app (interrupted)".
    expect(events.find((e) => e.type === 'step.finished' && e.step === 'health')).toMatchObject({
      status: 'warned',
      summary: expect.stringMatching(/^healthy but slow: \d+ ms/),
    });
    expect(events.some((e) => e.type === 'step.started' && e.step === 'health-again')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'run.interrupted' });
    expect(String(result.stdout)).toMatch(/: INTERRUPTED/);
    expect(String(result.stdout)).toMatch(
      /Resume with: trimp-rollback resume \S+ --state-dir \S+ --base-url http:\/\/127\.0\.0\.1:\d+ --yes/,
    );
    expect(existsSync(join(state, 'lock.json'))).toBe(false);
  });

  it('a second one stops at once: the hard stop is journaled with the step in flight, and the lock released', async () => {
    const { child, started } = start();
    const runId = await started;
    child.kill('SIGINT');
    await sleep(200);
    child.kill('SIGINT');
    const result = await child;
    expect(result.signal).toBe('SIGINT');
    const events = journalOf(state, runId);
    expect(events.at(-1)).toMatchObject({ type: 'run.interrupted', step: 'health', hard: true });
    expect(events.some((e) => e.type === 'step.finished' && e.step === 'health')).toBe(false);
    expect(existsSync(join(state, 'lock.json'))).toBe(false);
    expect(String(result.stderr)).toMatch(
      new RegExp(`Resume with: trimp-rollback resume ${runId} --state-dir \\S+ --base-url http://127\\.0\\.0\\.1:\\d+ --yes`),
    );
  });
});

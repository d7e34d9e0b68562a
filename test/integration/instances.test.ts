import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson } from '../helpers/cli.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

/**
 * Several instances of the app sharing one database (`sandbox start --instances 2`): the flag is
 * verified only when every instance serves it, health and the user-facing checks ask each, and the
 * application rollback restarts them one at a time so that one is always serving.
 */
let dir: string;
let info: { base_url: string; instances: string[]; config: string };
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trimp-instances-'));
  const started = await cli(['sandbox', 'start', '--dir', dir, '--instances', '2', '--traffic', '30', '--json']);
  expect(started.exitCode, started.stderr).toBe(0);
  info = jsonOf(started);
  appendFileSync(info.config, RELAXED_HOST);
  token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  await cli(['sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
});

async function flagsOn(url: string): Promise<Record<string, boolean>> {
  const response = await fetch(`${url}/api/admin/feature-flags`, { headers: { authorization: `Bearer ${token}` } });
  return ((await response.json()) as { flags: Record<string, Record<string, boolean>> }).flags.enhanced_trimp_calculation as Record<
    string,
    boolean
  >;
}

describe('two instances of the app', () => {
  it('the sandbox runs them on two ports, and its config names both with one templated target.app', async () => {
    expect(info.instances).toHaveLength(2);
    expect(new Set(info.instances).size).toBe(2);
    const config = readFileSync(info.config, 'utf8');
    expect(config).toContain(`  instances:\n    - ${info.instances[0]}\n    - ${info.instances[1]}\n`);
    expect(config).toMatch(/start: \[.*"--port","\{port\}".*"--instance","\{instance\}"\]/);
    expect(config).toContain('pid_file: ./sandbox-{instance}.pid');
    const status = await cli(['sandbox', 'status', '--dir', dir]);
    expect(status.stdout).toMatch(/^running: instance 1 at http:\S+ \(pid \d+\), instance 2 at http:\S+ \(pid \d+\); traffic 30\/s each/);
    for (const url of info.instances) expect((await fetch(`${url}/health`)).status).toBe(200);
    const tool = await cli(['status', '--config', info.config]);
    expect(tool.exitCode, tool.stderr).toBe(0);
    expect(tool.stdout).toContain(`\ninstance 2 ${info.instances[1]}: /health 200 healthy\n`);
  });

  it('flag --all is verified on both; with one instance serving stale flags, verify fails naming it (exit 1)', async () => {
    const off = await cli(['flag', '--all', '--yes', '--json', '--config', info.config]);
    expect(off.exitCode, off.stderr).toBe(0);
    const verify = jsonOf<RunJson>(off).steps.find((s) => s.id === 'verify');
    expect(verify?.summary).toMatch(/^admin disabled, beta disabled, regular disabled on all 2 instances; TRIMP: .* \(each instance\)$/);
    const evidence = verify?.evidence as { instances: { instance: string }[] };
    expect(evidence.instances.map((i) => i.instance)).toEqual(info.instances);

    const broke = await cli(['sandbox', 'break', 'stale-flags', '--dir', dir]);
    expect(broke.exitCode, broke.stderr).toBe(0);
    try {
      const on = await cli(['flag', '--all', '--enable', '--yes', '--json', '--config', info.config]);
      expect(on.exitCode).toBe(1);
      // Independently: instance 1 serves the new state, instance 2 the old one.
      expect(await flagsOn(info.instances[0] as string)).toEqual({ admin: true, beta: true, regular: true });
      expect(await flagsOn(info.instances[1] as string)).toEqual({ admin: false, beta: false, regular: false });
      const failed = jsonOf<RunJson>(on).steps.find((s) => s.id === 'verify');
      expect(failed?.status).toBe('failed');
      expect(failed?.summary).toMatch(
        new RegExp(
          `^instance 2 \\(${info.instances[1]}\\): admin reads disabled, expected enabled, .*user 4: the app used the average method, expected stream$`,
        ),
      );
      expect(failed?.summary).not.toContain('instance 1');
      // status says which instance serves another state, and why verify failed says what to do.
      const seen = await cli(['status', '--config', info.config]);
      expect(seen.stdout).toContain(
        `\ninstance 2 ${info.instances[1]}: /health 200 healthy; serves the flag as admin disabled, beta disabled, regular disabled (NOT as instance 1)\n`,
      );
      expect(failed?.warnings).toContain(
        'instance 2 does not serve the change while the others do: restart it, then resume this run to verify again',
      );
      // Validation judges every instance against the flag's state, not against its own stale view.
      const answer = await cli(['validate', '--checks', 'trimp-app-answer', '--json', '--config', info.config]);
      expect(answer.exitCode).toBe(1);
      const judged = jsonOf<{ checks: { status: string; summary: string }[] }>(answer).checks[0];
      expect(judged?.status).toBe('fail');
      expect(judged?.summary).toMatch(/^instance 1: .*; instance 2: .*user 1: the app used the average method, expected stream/);
    } finally {
      expect((await cli(['sandbox', 'heal', 'stale-flags', '--dir', dir])).exitCode).toBe(0);
    }
    const again = await cli(['flag', '--all', '--enable', '--yes', '--config', info.config]);
    expect(again.exitCode, again.stderr).toBe(0);
  });

  it('validate asks every instance: app-responsive and the user checks say "instance 1 … instance 2"', async () => {
    const result = await cli(['validate', '--json', '--settle', '5s', '--config', info.config]);
    expect(result.exitCode, result.stdout).toBe(0);
    const checks = jsonOf<{ checks: { name: string; summary: string; evidence: { instances?: Record<string, unknown> } }[] }>(
      result,
    ).checks;
    for (const name of ['app-responsive', 'api-endpoints', 'users-can-reach', 'trimp-app-answer', 'user-errors', 'performance']) {
      const check = checks.find((c) => c.name === name);
      expect(Object.keys(check?.evidence.instances ?? {}), name).toEqual(info.instances);
    }
    // Checks of the database and the host are asked once.
    expect(checks.find((c) => c.name === 'database')?.evidence.instances).toBeUndefined();
  });

  /** Runs the application rollback while looking at both instances' /health every 10 ms. */
  async function watchedRollback(extra: string[]): Promise<{ steps: RunJson['steps']; healthy: number[] }> {
    // A release that is healthy but calculates TRIMP wrong: both instances serve until they are restarted.
    const broke = await cli(['sandbox', 'break', 'bad-deploy', '--defect', 'trimp', '--dir', dir]);
    expect(broke.exitCode, broke.stderr).toBe(0);
    const healthy: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const answers = await Promise.all(
          info.instances.map((url) =>
            fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })
              .then(async (r) => r.status === 200 && ((await r.json()) as { status: string }).status === 'healthy')
              .catch(() => false),
          ),
        );
        healthy.push(answers.filter(Boolean).length);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const run = await cli(['application', ...extra, '--yes', '--json', '--config', info.config]);
    watching = false;
    await watch;
    expect(run.exitCode, run.stderr.split('\n').slice(-20).join('\n')).toBe(0);
    expect((await cli(['sandbox', 'heal', 'bad-deploy', '--dir', dir])).exitCode).toBe(0);
    return { steps: jsonOf<RunJson>(run).steps, healthy };
  }

  it('application rolls: one instance restarts at a time, and at every moment one of them answers /health', async () => {
    const { steps, healthy } = await watchedRollback([]);
    // Said by the step's check of the world before it runs (nothing to stop), the same words either way.
    expect(steps.find((s) => s.id === 'stop-app')?.summary).toMatch(
      /^(nothing to change: )?rolling deploy: the 2 instances keep serving; each stops just before it restarts$/,
    );
    expect(steps.find((s) => s.id === 'start-app')?.summary).toMatch(
      /^instance 1 pid \d+ healthy after \d+ ms .*; instance 2 pid \d+ healthy after \d+ ms/,
    );
    expect(healthy.length).toBeGreaterThan(20);
    expect(
      healthy.filter((n) => n === 0),
      `${healthy.length} looks`,
    ).toEqual([]);
    expect(healthy.some((n) => n === 1)).toBe(true); // one was down at some moment: the watch saw the restarts
  });

  it('--all-at-once stops both before deploying: the same watch sees a moment when neither answers', async () => {
    const { steps, healthy } = await watchedRollback(['--all-at-once']);
    expect(steps.find((s) => s.id === 'stop-app')?.summary).toMatch(
      /^instance 1: pid \d+ stopped on SIGTERM in \d+ ms; instance 2: pid \d+ stopped on SIGTERM in \d+ ms; exclusive lock taken/,
    );
    expect(healthy.some((n) => n === 0)).toBe(true);
    for (const url of info.instances) expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('a config naming two instances whose start command has neither {port} nor {instance} is refused (exit 2, one line)', async () => {
    const bad = join(dir, 'same-start.yaml');
    writeFileSync(
      bad,
      readFileSync(info.config, 'utf8')
        .replace('"--port","{port}"', '"--port","0"')
        .replace('"--instance","{instance}"', '"--instance","1"'),
    );
    const result = await cli(['application', '--dry-run', '--config', bad]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^trimp-rollback: target\.app\.start has neither \{port\} nor \{instance\}, but target\.instances names 2 instances: each would be started the same way, on the same port — /,
    );
  });

  it('a config naming two instances whose pid_file has no {instance} is refused (exit 2, one line)', async () => {
    const bad = join(dir, 'shared-pid.yaml');
    writeFileSync(bad, readFileSync(info.config, 'utf8').replace('./sandbox-{instance}.pid', './sandbox.pid'));
    const result = await cli(['application', '--dry-run', '--config', bad]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(
      "trimp-rollback: target.app.pid_file has no {instance}, but target.instances names 2 instances: they would share one PID file — write it as, for example, ./app-{instance}.pid; {port} in target.app.start is each instance's port",
    );
  });
});

import { z } from 'zod';
import { isProcessAlive } from '../engine/lock.js';
import type { AdminApi } from '../target/admin-api.js';
import { apiUrl } from '../target/admin-api.js';
import { appState, type Health, startApp, stopApp, waitHealthy } from '../target/app-process.js';
import { type ActionContext, defineAction, type StepOutcome } from './action.js';
import { type InstanceApp, instanceAppsOf } from './app-instances.js';
import { rollsHere } from './app-stop.js';

const params = z
  .object({
    /** A rolling deploy: one instance at a time is stopped, started and awaited healthy before the next. */
    rolling: z.boolean().default(false),
  })
  .strict();
type Params = z.output<typeof params>;

/** Journaled as each instance comes back on the new release: a resumed rolling deploy does not restart it again. */
const ROLLED = 'app_rolled';

/** The seed's "start application" without `python strava_app.py &`: detached, logged, PID recorded, health awaited. */
export const appStart = defineAction<Params>({
  name: 'app.start',
  description:
    'Start the app (every instance; rolling: one at a time, each stopped first) detached in its own process group (output appended to the logs, a fresh PID file), then wait for /health with backoff.',
  rehearsal: 'print',
  confirm: true,
  params,
  describe: ({ rolling }, info) => {
    if (!info.app) return [{ kind: 'command', text: 'target.app is not configured: this step will fail' }];
    const rolls = rollsHere(rolling, info);
    return [
      ...(rolls
        ? [
            {
              kind: 'wait' as const,
              text: `one instance at a time, in order; the next only once this one is healthy (${info.instances.length} instances)`,
            },
          ]
        : []),
      ...instanceAppsOf(info).flatMap(({ app, label, instance }) => [
        ...(rolls
          ? [
              {
                kind: 'signal' as const,
                text: `${label}SIGTERM the pid in ${app.pidFile}, then SIGKILL after ${Math.round(app.stopGraceMs / 1000)} s`,
              },
            ]
          : []),
        {
          kind: 'command' as const,
          text: `${label}${app.start.join(' ')} (no shell; detached, its own process group; output appended to ${info.logsDir}/app.out)`,
        },
        { kind: 'file' as const, text: `write its PID to ${app.pidFile}` },
        {
          kind: 'http' as const,
          text: `GET ${apiUrl(instance.baseUrl, 'health')} with backoff until healthy, up to ${Math.round(app.healthDeadlineMs / 1000)} s`,
        },
      ]),
    ];
  },
  async run({ rolling }, ctx) {
    const instances = instanceAppsOf(ctx.info);
    const rolls = rollsHere(rolling, ctx.info);
    const rolled = new Set((ctx.run.observed.get(ROLLED) as number[] | undefined) ?? []);
    const said: string[] = [];
    const evidence: Record<string, unknown>[] = [];
    if (!rolls) {
      // All at once: start every instance, then wait for each (they come up together).
      const started = [];
      for (const one of instances) started.push(await startApp(one.app, ctx.info.logsDir, ctx.info.appDir));
      for (const [index, one] of instances.entries()) {
        const outcome = await awaitHealthy(one, started[index] as { pid: number; log: string }, ctx, instances.length);
        if (outcome.status !== 'succeeded') return withEarlier(outcome, said, evidence);
        said.push(outcome.summary);
        evidence.push(outcome.evidence ?? {});
      }
    } else {
      for (const one of instances) {
        const state = appState(one.app);
        // Resumed: this instance already came back on the new release (its pid was journaled then).
        if (state.kind === 'running' && rolled.has(state.pid)) {
          said.push(`${one.label}already restarted (pid ${state.pid})`);
          continue;
        }
        ctx.progress(`${one.label}stopping`);
        const stopped = await stopApp(one.app);
        const started = await startApp(one.app, ctx.info.logsDir, ctx.info.appDir);
        const outcome = await awaitHealthy(one, started, ctx, instances.length);
        if (outcome.status !== 'succeeded') {
          const left = instances.filter((other) => other.instance.number > one.instance.number);
          const rest = left.length
            ? `; ${left.map((o) => o.label.trim()).join(', ')} still ${left.length > 1 ? 'run' : 'runs'} the previous release, untouched`
            : '';
          return withEarlier({ ...outcome, summary: `${outcome.summary}${rest}` }, said, evidence);
        }
        rolled.add(started.pid);
        ctx.observe(ROLLED, [...rolled]);
        said.push(`${outcome.summary} (${stopped.note})`);
        evidence.push({ ...(outcome.evidence ?? {}), stopped });
      }
    }
    return { status: 'succeeded', summary: said.join('; '), evidence: { instances: evidence, rolling: rolls } };
  },
  async reconcile({ rolling }, ctx) {
    const rolls = rollsHere(rolling, ctx.info);
    const rolled = new Set((ctx.run.observed.get(ROLLED) as number[] | undefined) ?? []);
    const problems: string[] = [];
    for (const one of instanceAppsOf(ctx.info)) {
      const state = appState(one.app);
      if (state.kind !== 'running') {
        problems.push(`the app ${one.label}is not running`);
        continue;
      }
      // Rolling: running is not enough; it must be the process started after the deploy.
      if (rolls && !rolled.has(state.pid)) {
        problems.push(`${one.label}(pid ${state.pid}) has not been restarted on the new release`);
        continue;
      }
      const health = await waitHealthy(apiOf(one, ctx), 0, () => isProcessAlive(state.pid), ctx.signal);
      if (!health.healthy) problems.push(`the app ${one.label}runs (pid ${state.pid}) but is not healthy: ${health.last}`);
    }
    return problems.length === 0
      ? {
          done: true,
          summary: `the app runs and is healthy${ctx.info.instances.length > 1 ? ` (all ${ctx.info.instances.length} instances)` : ''}`,
        }
      : { done: false, summary: problems.join('; ') };
  },
});

function apiOf(one: InstanceApp, ctx: ActionContext): AdminApi {
  return ctx.target.onInstance(one.instance).api;
}

async function awaitHealthy(
  one: InstanceApp,
  started: { pid: number; log: string },
  ctx: ActionContext,
  total: number,
): Promise<StepOutcome> {
  ctx.observe('app_started', { ...started, ...(total > 1 ? { instance: one.instance.baseUrl } : {}) });
  ctx.progress(`${one.label}pid ${started.pid}: waiting for /health`);
  const health: Health = await waitHealthy(apiOf(one, ctx), one.app.healthDeadlineMs, () => isProcessAlive(started.pid), ctx.signal);
  const evidence = { ...started, ...health, ...(total > 1 ? { instance: one.instance.baseUrl } : {}) };
  // Ctrl-C cut the wait short: the app was started; resume looks at its health again.
  if (!health.healthy && ctx.signal.aborted)
    return { status: 'skipped', summary: `${one.label}started pid ${started.pid}; interrupted while waiting for /health`, evidence };
  if (!health.healthy)
    return {
      status: 'failed',
      summary: `${one.label}started pid ${started.pid}, but it is not healthy: ${health.last} (see ${started.log})`,
      evidence,
    };
  return {
    status: 'succeeded',
    summary: `${one.label}pid ${started.pid} healthy after ${health.waited_ms} ms (${health.attempts} tries)`,
    evidence,
  };
}

/** A failure or interruption part-way says what had already come back. */
function withEarlier(outcome: StepOutcome, said: string[], evidence: Record<string, unknown>[]): StepOutcome {
  return {
    ...outcome,
    summary: said.length ? `${said.join('; ')}; ${outcome.summary}` : outcome.summary,
    evidence: { instances: [...evidence, outcome.evidence ?? {}] },
  };
}

import { z } from 'zod';
import { isProcessAlive } from '../engine/lock.js';
import { apiUrl } from '../target/admin-api.js';
import { appState, startApp, waitHealthy } from '../target/app-process.js';
import { defineAction } from './action.js';
import { appConfigOf } from './app-stop.js';

const params = z.object({}).strict();

/** The seed's "start application" without `python strava_app.py &`: detached, logged, PID recorded, health awaited. */
export const appStart = defineAction<z.output<typeof params>>({
  name: 'app.start',
  description:
    'Start the app detached in its own process group (output appended to the logs, a fresh PID file), then wait for /health with backoff.',
  rehearsal: 'print',
  confirm: true,
  params,
  describe: (_params, info) => {
    const app = info.app;
    if (!app) return [{ kind: 'command', text: 'target.app is not configured: this step will fail' }];
    return [
      {
        kind: 'command',
        text: `${app.start.join(' ')} (no shell; detached, its own process group; output appended to ${info.logsDir}/app.out)`,
      },
      { kind: 'file', text: `write its PID to ${app.pidFile}` },
      {
        kind: 'http',
        text: `GET ${apiUrl(info.baseUrl, 'health')} with backoff until healthy, up to ${Math.round(app.healthDeadlineMs / 1000)} s`,
      },
    ];
  },
  async run(_params, ctx) {
    const app = appConfigOf(ctx.info);
    const started = await startApp(app, ctx.info.logsDir, ctx.info.appDir);
    ctx.observe('app_started', started);
    ctx.progress(`pid ${started.pid}: waiting for /health`);
    const health = await waitHealthy(ctx.target.api, app.healthDeadlineMs, () => isProcessAlive(started.pid), ctx.signal);
    const evidence = { ...started, ...health };
    // Ctrl-C cut the wait short: the app was started; resume looks at its health again.
    if (!health.healthy && ctx.signal.aborted)
      return { status: 'skipped', summary: `started pid ${started.pid}; interrupted while waiting for /health`, evidence };
    if (!health.healthy)
      return {
        status: 'failed',
        summary: `started pid ${started.pid}, but it is not healthy: ${health.last} (see ${started.log})`,
        evidence,
      };
    return { status: 'succeeded', summary: `pid ${started.pid} healthy after ${health.waited_ms} ms (${health.attempts} tries)`, evidence };
  },
  async reconcile(_params, ctx) {
    const state = appState(appConfigOf(ctx.info));
    if (state.kind !== 'running') return { done: false, summary: 'the app is not running' };
    const health = await waitHealthy(ctx.target.api, 0, () => isProcessAlive(state.pid), ctx.signal);
    return health.healthy
      ? { done: true, summary: `the app runs (pid ${state.pid}) and is healthy` }
      : { done: false, summary: `the app runs (pid ${state.pid}) but is not healthy: ${health.last}` };
  },
});

/**
 * The seed's app, as the sandbox plays it (server.js starts it unless the directory holds the
 * trainingmonkey profile). The admin token is read from D/admin-token, never from the command line.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createSandboxApp } from './app.js';
import { AppLogs } from './logs.js';
import { Metrics } from './metrics.js';
import { currentRelease } from './release.js';
import { followFaults, serve, serverArguments } from './serve.js';
import { openSandboxStore } from './store.js';
import { startTraffic } from './traffic.js';

const args = serverArguments();
const { layout, instance } = args;
const token = readFileSync(layout.tokenFile, 'utf8').trim();
const store = await openSandboxStore(layout);
const logs = new AppLogs(layout.logsDir);
const release = currentRelease(layout.appDir);
const eventLoop = monitorEventLoopDelay({ resolution: 20 });
eventLoop.enable();

const faults = followFaults(layout.root, {
  store,
  // Taken now, not at the next request: what this instance serves from here on is what it had.
  // (Only when this instance is the one named; a database that is down must not end the process.)
  onChange: (now) => {
    const stale = now['stale-flags'];
    if (stale !== undefined && stale.instance === instance) store.flags().catch(() => undefined);
  },
  reopened: () => logs.info('database connection reopened'),
});

// stale-flags: the instance it names keeps answering with the flags it had when the fault came.
const readFlags = store.flags.bind(store);
let staleFlags: Awaited<ReturnType<typeof readFlags>> | undefined;
store.flags = async () => {
  const stale = faults()['stale-flags'];
  if (!stale || stale.instance !== instance) {
    staleFlags = undefined;
    return readFlags();
  }
  staleFlags ??= await readFlags();
  return staleFlags;
};

let usersByType = new Map<string, number[]>();
serve(createSandboxApp({ store, logs, metrics: new Metrics(), token, release, faults, eventLoop, dir: layout.root }), args, {
  store,
  started(state) {
    logs.info(
      `sandbox started${instance !== undefined ? ` instance=${instance}` : ''} pid=${process.pid} port=${state.port} version=${release.version} commit=${release.commit ?? 'none'} traffic=${args.traffic}/s`,
    );
    return args.traffic > 0 ? startTraffic(state.base_url, args.traffic, () => usersByType) : () => {};
  },
  stopping: (signal) => logs.info(`sandbox stopping on ${signal}`),
  closed: () => logs.close(),
});

try {
  usersByType = await store.usersByType();
} catch (error) {
  logs.error(`could not list users: ${error instanceof Error ? error.message : String(error)}`);
}

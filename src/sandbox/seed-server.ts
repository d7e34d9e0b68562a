/**
 * The seed's app, as the sandbox plays it (server.js starts it unless the directory holds the
 * trainingmonkey profile). The admin token is read from D/admin-token, never from the command line.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createSandboxApp } from './app.js';
import { type FaultState, faultsFile, readFaults } from './faults.js';
import { instanceFiles, type SandboxState, sandboxLayout } from './layout.js';
import { AppLogs } from './logs.js';
import { Metrics } from './metrics.js';
import { currentRelease } from './release.js';
import { openSandboxStore } from './store.js';
import { startTraffic } from './traffic.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    traffic: { type: 'string', default: '0' },
    instance: { type: 'string' },
  },
});
if (!values.dir) {
  process.stderr.write('usage: server.js --dir DIR [--port PORT] [--traffic RATE]\n');
  process.exit(2);
}
const layout = sandboxLayout(values.dir);
const instance = values.instance === undefined ? undefined : Number(values.instance);
const files = instanceFiles(layout, instance);
const token = readFileSync(layout.tokenFile, 'utf8').trim();
const store = await openSandboxStore(layout);
const logs = new AppLogs(layout.logsDir);
const release = currentRelease(layout.appDir);
const eventLoop = monitorEventLoopDelay({ resolution: 20 });
eventLoop.enable();

// Runtime faults: re-read faults.json when it changes; reopen the database when asked to.
let faults: FaultState = readFaults(layout.root);
let faultsMtime = 0;
let generation = faults.db_generation ?? 0;
setInterval(() => {
  let mtime = 0;
  try {
    mtime = statSync(faultsFile(layout.root)).mtimeMs;
  } catch {
    // No faults file: no faults.
  }
  if (mtime === faultsMtime) return;
  faultsMtime = mtime;
  faults = readFaults(layout.root);
  // Taken now, not at the next request: what this instance serves from here on is what it had.
  // (Only when this instance is the one named; a database that is down must not end the process.)
  const stale = faults['stale-flags'];
  if (stale !== undefined && stale.instance === instance) store.flags().catch(() => undefined);
  if ((faults.db_generation ?? 0) !== generation) {
    generation = faults.db_generation ?? 0;
    void store.reopen().then(() => logs.info('database connection reopened'));
  }
}, 100).unref();

// stale-flags: the instance it names keeps answering with the flags it had when the fault came.
const readFlags = store.flags.bind(store);
let staleFlags: Awaited<ReturnType<typeof readFlags>> | undefined;
store.flags = async () => {
  const stale = faults['stale-flags'];
  if (!stale || stale.instance !== instance) {
    staleFlags = undefined;
    return readFlags();
  }
  staleFlags ??= await readFlags();
  return staleFlags;
};

const app = createSandboxApp({ store, logs, metrics: new Metrics(), token, release, faults: () => faults, eventLoop, dir: layout.root });
const server = createServer(app);
server.keepAliveTimeout = 2000;
let stopTraffic = () => {};

// A port already taken is said plainly (the parent shows the last line of this log).
server.on('error', (error: NodeJS.ErrnoException) => {
  const why = error.code === 'EADDRINUSE' ? 'address in use: another process listens there' : error.message;
  process.stderr.write(`sandbox: cannot listen on 127.0.0.1:${values.port}: ${error.code ?? 'error'} (${why})\n`);
  process.exit(3);
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(values.port);
  const state: SandboxState = {
    pid: process.pid,
    port,
    base_url: `http://127.0.0.1:${port}`,
    started_at: new Date().toISOString(),
    dir: layout.root,
    ...(instance !== undefined ? { instance } : {}),
  };
  const rate = Number(values.traffic);
  if (rate > 0) stopTraffic = startTraffic(state.base_url, rate, () => usersByType);
  writeFileSync(files.pidFile, `${process.pid}\n`);
  writeFileSync(files.stateFile, `${JSON.stringify({ ...state, traffic: rate }, null, 2)}\n`);
  logs.info(
    `sandbox started${instance !== undefined ? ` instance=${instance}` : ''} pid=${process.pid} port=${port} version=${release.version} commit=${release.commit ?? 'none'} traffic=${rate}/s`,
  );
});

let usersByType = new Map<string, number[]>();
try {
  usersByType = await store.usersByType();
} catch (error) {
  logs.error(`could not list users: ${error instanceof Error ? error.message : String(error)}`);
}

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  stopTraffic();
  logs.info(`sandbox stopping on ${signal}`);
  server.close();
  server.closeAllConnections();
  rmSync(files.stateFile, { force: true });
  rmSync(files.pidFile, { force: true });
  void store
    .close()
    .then(() => logs.close())
    .then(() => process.exit(0));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

/**
 * The public app as the sandbox plays it (`sandbox start --profile trainingmonkey`): its log lines
 * go to stderr in Python's format, as the app's do (the sandbox's start captures them in
 * app/logs/app.out, target.logs' file), and its answers are the app's (routes.ts).
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { type FaultState, faultsFile, readFaults } from '../faults.js';
import { instanceFiles, type SandboxState, sandboxLayout } from '../layout.js';
import { currentRelease } from '../release.js';
import { openSandboxStore } from '../store.js';
import { pythonLogLine } from './flask.js';
import { createTrainingMonkeyApp } from './routes.js';
import { startUserTraffic } from './traffic.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string', default: '0' },
    traffic: { type: 'string', default: '0' },
    instance: { type: 'string' },
  },
});
const layout = sandboxLayout(values.dir as string);
const instance = values.instance === undefined ? undefined : Number(values.instance);
const files = instanceFiles(layout, instance);
const log = (logger: string, level: string, message: string) => process.stderr.write(pythonLogLine(logger, level, message));
const store = await openSandboxStore(layout);
const release = currentRelease(layout.appDir);

// As the app does at start-up: the start of DATABASE_URL, printed and logged (with its password, if it has one).
log('strava_app', 'INFO', `Using DATABASE_URL: ${databaseUrl().slice(0, 60)}...`);

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
  // A fault that damaged the database file asks for a new connection: it must see the damage, not its cache.
  if ((faults.db_generation ?? 0) !== generation) {
    generation = faults.db_generation ?? 0;
    void store.reopen().then(() => log('db_connection_manager', 'INFO', 'database connection reopened'));
  }
}, 100).unref();

const server = createServer(createTrainingMonkeyApp({ store, release, faults: () => faults, log }));
server.keepAliveTimeout = 2000;
let stopTraffic = () => {};
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
  if (rate > 0) stopTraffic = startUserTraffic(state.base_url, rate);
  writeFileSync(files.pidFile, `${process.pid}\n`);
  writeFileSync(files.stateFile, `${JSON.stringify({ ...state, traffic: rate }, null, 2)}\n`);
  log('strava_app', 'INFO', `Starting server on port ${port} (release ${release.version}, commit ${release.commit ?? 'none'})`);
});

function databaseUrl(): string {
  try {
    const engine = JSON.parse(readFileSync(layout.engineFile, 'utf8')) as { url: string; password_file: string };
    const url = new URL(engine.url);
    url.password = readFileSync(engine.password_file, 'utf8').trim();
    return url.toString();
  } catch {
    return `sqlite:///${layout.database}`;
  }
}

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  stopTraffic();
  log('strava_app', 'INFO', `Shutting down on ${signal}`);
  server.close();
  server.closeAllConnections();
  rmSync(files.stateFile, { force: true });
  rmSync(files.pidFile, { force: true });
  void store.close().then(() => process.exit(0));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

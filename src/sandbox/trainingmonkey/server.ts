/**
 * The public app as the sandbox plays it (`sandbox start --profile trainingmonkey`): its log lines
 * go to stderr in Python's format, as the app's do (the sandbox's start captures them in
 * app/logs/app.out, target.logs' file), and its answers are the app's (routes.ts).
 */
import { readFileSync } from 'node:fs';
import { currentRelease } from '../release.js';
import { followFaults, serve, serverArguments } from '../serve.js';
import { openSandboxStore } from '../store.js';
import { pythonLogLine } from './flask.js';
import { createTrainingMonkeyApp } from './routes.js';
import { startUserTraffic } from './traffic.js';

const args = serverArguments();
const { layout } = args;
const log = (logger: string, level: string, message: string) => process.stderr.write(pythonLogLine(logger, level, message));
const store = await openSandboxStore(layout);
const release = currentRelease(layout.appDir);

// As the app does at start-up: the start of DATABASE_URL, printed and logged (with its password, if it has one).
log('strava_app', 'INFO', `Using DATABASE_URL: ${databaseUrl().slice(0, 60)}...`);

const faults = followFaults(layout.root, { store, reopened: () => log('db_connection_manager', 'INFO', 'database connection reopened') });

serve(createTrainingMonkeyApp({ store, release, faults, log }), args, {
  store,
  started(state) {
    log('strava_app', 'INFO', `Starting server on port ${state.port} (release ${release.version}, commit ${release.commit ?? 'none'})`);
    return args.traffic > 0 ? startUserTraffic(state.base_url, args.traffic) : () => {};
  },
  stopping: (signal) => log('strava_app', 'INFO', `Shutting down on ${signal}`),
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

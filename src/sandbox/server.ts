/**
 * The sandbox process: `node server.js --dir D --port P`. Started detached by `sandbox start`;
 * the admin token is read from D/admin-token, never from the command line.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createSandboxApp } from './app.js';
import { type SandboxState, sandboxLayout } from './layout.js';
import { AppLogs } from './logs.js';
import { Metrics } from './metrics.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.dir) {
  process.stderr.write('usage: server.js --dir DIR [--port PORT]\n');
  process.exit(2);
}
const layout = sandboxLayout(values.dir);
const token = readFileSync(layout.tokenFile, 'utf8').trim();
const db = new Database(layout.database, { fileMustExist: true, timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
const logs = new AppLogs(layout.logsDir);
const version = process.env.TRIMP_SANDBOX_VERSION ?? 'sandbox-0.1.0';
const app = createSandboxApp({ db, logs, metrics: new Metrics(), token, version });
const server = createServer(app);
server.keepAliveTimeout = 2000;

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(values.port);
  const state: SandboxState = {
    pid: process.pid,
    port,
    base_url: `http://127.0.0.1:${port}`,
    started_at: new Date().toISOString(),
    dir: layout.root,
  };
  writeFileSync(layout.pidFile, `${process.pid}\n`);
  writeFileSync(layout.stateFile, `${JSON.stringify(state, null, 2)}\n`);
  logs.info(`sandbox started pid=${process.pid} port=${port} version=${version}`);
});

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logs.info(`sandbox stopping on ${signal}`);
  server.close();
  server.closeAllConnections();
  db.close();
  rmSync(layout.stateFile, { force: true });
  rmSync(layout.pidFile, { force: true });
  void logs.close().then(() => process.exit(0));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

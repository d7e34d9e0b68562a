import { rmSync, statSync, writeFileSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { type FaultState, faultsFile, readFaults } from './faults.js';
import { instanceFiles, type SandboxState, sandboxLayout } from './layout.js';
import type { SandboxStore } from './store.js';

/**
 * What every sandbox server process does, whichever app it plays: read its arguments, follow
 * faults.json, listen on its port and record where, and stop cleanly on a signal.
 */
export function serverArguments() {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string', default: '0' },
      traffic: { type: 'string', default: '0' },
      instance: { type: 'string' },
    },
  });
  if (!values.dir) {
    process.stderr.write('usage: server.js --dir DIR [--port PORT] [--traffic RATE] [--instance N]\n');
    process.exit(2);
  }
  const layout = sandboxLayout(values.dir);
  const instance = values.instance === undefined ? undefined : Number(values.instance);
  return { layout, instance, files: instanceFiles(layout, instance), port: Number(values.port), traffic: Number(values.traffic) };
}
export type ServerArguments = ReturnType<typeof serverArguments>;

/**
 * Runtime faults: faults.json is re-read when it changes (within a tenth of a second), and the
 * database reopened when a fault asks (it must see damage, not its page cache).
 */
export function followFaults(
  root: string,
  options: { store: SandboxStore; onChange?: (faults: FaultState) => void; reopened: () => void },
): () => FaultState {
  let faults: FaultState = readFaults(root);
  let mtime = 0;
  let generation = faults.db_generation ?? 0;
  setInterval(() => {
    let now = 0;
    try {
      now = statSync(faultsFile(root)).mtimeMs;
    } catch {
      // No faults file: no faults.
    }
    if (now === mtime) return;
    mtime = now;
    faults = readFaults(root);
    options.onChange?.(faults);
    if ((faults.db_generation ?? 0) !== generation) {
      generation = faults.db_generation ?? 0;
      void options.store.reopen().then(options.reopened);
    }
  }, 100).unref();
  return () => faults;
}

/**
 * Listens on the loopback port, then writes the PID and state files (the parent waits for the
 * state file); stops on SIGTERM or SIGINT, removing them. `started` runs once it listens (the
 * simulated users begin there); `stopping` before the process exits.
 */
export function serve(
  app: RequestListener,
  args: ServerArguments,
  hooks: {
    started: (state: SandboxState) => () => void;
    stopping: (signal: string) => void;
    store: SandboxStore;
    closed?: () => Promise<void>;
  },
): Server {
  const server = createServer(app);
  server.keepAliveTimeout = 2000;
  let stopTraffic = () => {};
  // A port already taken is said plainly (the parent shows the last line of this process's output).
  server.on('error', (error: NodeJS.ErrnoException) => {
    const why = error.code === 'EADDRINUSE' ? 'address in use: another process listens there' : error.message;
    process.stderr.write(`sandbox: cannot listen on 127.0.0.1:${args.port}: ${error.code ?? 'error'} (${why})\n`);
    process.exit(3);
  });
  server.listen(args.port, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : args.port;
    const state: SandboxState = {
      pid: process.pid,
      port,
      base_url: `http://127.0.0.1:${port}`,
      started_at: new Date().toISOString(),
      dir: args.layout.root,
      ...(args.instance !== undefined ? { instance: args.instance } : {}),
    };
    stopTraffic = hooks.started(state);
    writeFileSync(args.files.pidFile, `${process.pid}\n`);
    writeFileSync(args.files.stateFile, `${JSON.stringify({ ...state, traffic: args.traffic }, null, 2)}\n`);
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stopTraffic();
    hooks.stopping(signal);
    server.close();
    server.closeAllConnections();
    rmSync(args.files.stateFile, { force: true });
    rmSync(args.files.pidFile, { force: true });
    void hooks.store
      .close()
      .then(() => hooks.closed?.())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return server;
}

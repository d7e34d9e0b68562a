import { join, resolve } from 'node:path';

/** Where a sandbox keeps its files under its directory. */
export function sandboxLayout(dir: string) {
  const root = resolve(dir);
  const appDir = join(root, 'app');
  return {
    root,
    database: join(root, 'training_data.db'),
    tokenFile: join(root, 'admin-token'),
    pidFile: join(root, 'sandbox.pid'),
    stateFile: join(root, 'sandbox.json'),
    config: join(root, 'trimp-rollback.yaml'),
    appDir,
    logsDir: join(appDir, 'logs'),
    processLog: join(appDir, 'logs', 'sandbox.out'),
    stateDir: join(root, 'state'),
    /** Present when the app's database is on the sandbox's own PostgreSQL server (sandbox start --engine postgres). */
    engineFile: join(root, 'engine.json'),
    /** Present when several instances run (sandbox start --instances N): their ports and traffic. */
    instancesFile: join(root, 'instances.json'),
  };
}

/**
 * Where one instance's PID and state go: sandbox.pid and sandbox.json when the sandbox runs one
 * (as it always did), sandbox-N.pid and sandbox-N.json for instance N of several.
 */
export function instanceFiles(layout: { root: string }, instance: number | undefined) {
  const suffix = instance === undefined ? '' : `-${instance}`;
  return { pidFile: join(layout.root, `sandbox${suffix}.pid`), stateFile: join(layout.root, `sandbox${suffix}.json`) };
}

/** instances.json. */
export interface SandboxInstances {
  ports: number[];
  traffic: number;
}
export type SandboxLayout = ReturnType<typeof sandboxLayout>;

/** Written by the server once it listens. */
export interface SandboxState {
  pid: number;
  port: number;
  base_url: string;
  started_at: string;
  dir: string;
  /** Simulated requests per second. */
  traffic?: number;
  /** Which of several instances this is (from 1); absent when the sandbox runs one. */
  instance?: number;
}

/** engine.json: where the app's PostgreSQL database is, and the file holding its password. */
export interface PostgresEngine {
  engine: 'postgres';
  url: string;
  password_file: string;
}

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
  };
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
}

/** engine.json: where the app's PostgreSQL database is, and the file holding its password. */
export interface PostgresEngine {
  engine: 'postgres';
  url: string;
  password_file: string;
}

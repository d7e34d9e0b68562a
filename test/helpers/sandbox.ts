import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cli, jsonOf } from './cli.js';

export interface TestSandbox {
  dir: string;
  baseUrl: string;
  pid: number;
  config: string;
  database: string;
  tokenFile: string;
  token: string;
  stateDir: string;
  logsDir: string;
  flags(): Promise<Record<string, boolean>>;
  dbFlags(): Record<string, boolean>;
  stop(): Promise<void>;
  start(): Promise<void>;
  remove(): Promise<void>;
}

/** A real sandbox process on a loopback port, started and stopped through the CLI. */
export async function startTestSandbox(prefix = 'trimp-test-'): Promise<TestSandbox> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const started = await cli(['sandbox', 'start', '--dir', dir, '--json']);
  if (started.exitCode !== 0) throw new Error(`sandbox start failed: ${started.stderr}`);
  let info = jsonOf<{ base_url: string; pid: number; config: string; database: string; token_file: string; logs_dir: string }>(started);
  const token = readFileSync(info.token_file, 'utf8').trim();
  const sandbox: TestSandbox = {
    dir,
    get baseUrl() {
      return info.base_url;
    },
    get pid() {
      return info.pid;
    },
    config: info.config,
    database: info.database,
    tokenFile: info.token_file,
    token,
    stateDir: join(dir, 'state'),
    logsDir: info.logs_dir,
    async flags() {
      const response = await fetch(`${info.base_url}/api/admin/feature-flags`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { flags: Record<string, Record<string, boolean>> };
      return body.flags.enhanced_trimp_calculation as Record<string, boolean>;
    },
    dbFlags() {
      const db = new Database(info.database, { readonly: true });
      try {
        const rows = db.prepare("SELECT user_type, enabled FROM feature_flags WHERE name = 'enhanced_trimp_calculation'").all() as {
          user_type: string;
          enabled: number;
        }[];
        return Object.fromEntries(rows.map((r) => [r.user_type, r.enabled === 1]));
      } finally {
        db.close();
      }
    },
    async stop() {
      await cli(['sandbox', 'stop', '--dir', dir]);
    },
    async start() {
      const again = await cli(['sandbox', 'start', '--dir', dir, '--json']);
      if (again.exitCode !== 0) throw new Error(`sandbox restart failed: ${again.stderr}`);
      info = jsonOf(again);
    },
    async remove() {
      await cli(['sandbox', 'stop', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sandbox;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * The host is not what these tests judge: a loaded CI machine must not turn host-resources into a
 * warning that fails an assertion about the rollback. (host-resources has a test of its own.)
 */
export const RELAXED_HOST = 'validation:\n  load_per_core_max: 10000\n  disk_free_min_bytes: 0\n  memory_free_min_bytes: 0\n';

/** A real sandbox process on a loopback port, started and stopped through the CLI. */
export async function startTestSandbox(
  prefix = 'trimp-test-',
  options: { traffic?: number; activities?: number; database?: string; dir?: string } = {},
): Promise<TestSandbox> {
  if (options.dir) mkdirSync(options.dir, { recursive: true });
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), prefix));
  const traffic = options.traffic ? ['--traffic', String(options.traffic)] : [];
  // A given database file is used as it is (the sandbox only creates one when there is none).
  if (options.database) copyFileSync(options.database, join(dir, 'training_data.db'));
  if (options.activities) {
    const seeded = await cli(['sandbox', 'seed', '--dir', dir, '--activities', String(options.activities)]);
    if (seeded.exitCode !== 0) throw new Error(`sandbox seed failed: ${seeded.stderr}`);
  }
  const started = await cli(['sandbox', 'start', '--dir', dir, '--json', ...traffic]);
  if (started.exitCode !== 0) throw new Error(`sandbox start failed: ${started.stderr}`);
  let info = jsonOf<{ base_url: string; pid: number; config: string; database: string; token_file: string; logs_dir: string }>(started);
  appendFileSync(info.config, RELAXED_HOST);
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
      const again = await cli(['sandbox', 'start', '--dir', dir, '--json', ...traffic]);
      if (again.exitCode !== 0) throw new Error(`sandbox restart failed: ${again.stderr}`);
      info = jsonOf(again);
      appendFileSync(info.config, RELAXED_HOST);
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

/**
 * Users of the app, from the test: TRIMP calculations (with a stream, so the flag decides the
 * method) for random users at a steady rate. Calculations write nothing to the database.
 */
export function userTraffic(baseUrl: string, perSecond = 40, users = 20): { stop(): void } {
  const timer = setInterval(() => {
    const userId = 1 + Math.floor(Math.random() * users);
    fetch(`${baseUrl}/api/trimp/calculate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId, duration_minutes: 60, avg_hr: 150, hr_stream: Array(60).fill(150) }),
    })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
  }, 1000 / perSecond);
  return { stop: () => clearInterval(timer) };
}

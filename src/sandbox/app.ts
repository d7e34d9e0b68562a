import type { IntervalHistogram } from 'node:perf_hooks';
import type { FaultState } from './faults.js';
import { createRouter } from './http.js';
import type { AppLogs } from './logs.js';
import type { Metrics } from './metrics.js';
import type { Release } from './release.js';
import { adminRoutes } from './routes-admin.js';
import { userRoutes } from './routes-user.js';
import type { SandboxStore } from './store.js';

export interface SandboxAppOptions {
  store: SandboxStore;
  logs: AppLogs;
  metrics: Metrics;
  token: string;
  release: Release & { commit: string | undefined };
  faults: () => FaultState;
  eventLoop: IntervalHistogram;
  dir: string;
}

/**
 * The reference TRIMP app: the seed's admin API and the user-facing TRIMP endpoints, backed by a
 * real SQLite database. The flag is read from the database on every request, so a change made
 * directly in the database (`--via db`) takes effect at once, as in the app.
 */
export function createSandboxApp(options: SandboxAppOptions) {
  return createRouter([...adminRoutes(options), ...userRoutes(options)], options);
}

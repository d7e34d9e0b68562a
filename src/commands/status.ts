import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { BackupStore } from '../backup/store.js';
import { type Config, loadConfig } from '../config/config.js';
import { describeHolder, isProcessAlive, readLock, stateLockPath, targetLockPath } from '../engine/lock.js';
import { attempt } from '../errors.js';
import { type RecentErrors, readRecentErrors } from '../monitor/recent.js';
import { toJson } from '../report/output.js';
import { errorRateOf, sparkline } from '../report/sparkline.js';
import { renderTable } from '../report/table.js';
import { appCommit } from '../target/app-repo.js';
import { dryRunGate } from '../target/flag-store.js';
import { readHealth } from '../target/health.js';
import { profileNamed } from '../target/profiles/index.js';
import { connectTarget } from '../target/target.js';
import { describeState, ENHANCED_TRIMP_FLAG, type FlagStates, USER_TYPES } from '../target/user-types.js';
import { loadRuns } from './run-history.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';
import { formatAge, rowOf } from './runs.js';

const LAST_RUNS = 5;

/**
 * `trimp-rollback status [--json]`: the system and the tool on one screen: the flag per user
 * type, the app's health and release, the newest backup and its age, who holds the lock, and the
 * last runs. Read-only; each part that cannot be read says why, and the rest is still shown.
 */
export async function statusCommand(options: RunCommandOptions): Promise<CommandResult> {
  const config = loadConfig({ ...options, withoutToken: false });
  const status = await gatherStatus(config, options.via ?? 'api');
  if (options.json) process.stdout.write(`${toJson(status)}\n`);
  else process.stdout.write(renderStatus(status, process.stdout.isTTY === true));
  return { exitCode: 0 };
}

export async function gatherStatus(config: Config, via: 'api' | 'db') {
  const target = connectTarget(config, via, { dryRun: true });
  try {
    const healthOf = (api: typeof target.api) =>
      attempt(async () => {
        const health = await readHealth(api);
        // The body decides: the public app answers 200 with its database gone.
        const error = health.database !== undefined && health.database !== 'connected' ? `database ${health.database}` : null;
        return { http_status: health.http_status, status: health.status ?? null, version: health.version ?? null, error };
      });
    const [flags, health, commit, recent, others] = await Promise.all([
      attempt(() => target.flags.read(ENHANCED_TRIMP_FLAG)),
      healthOf(target.api),
      attempt(() => (existsSync(config.target.appDir) ? appCommit(config.target.appDir) : null)),
      attempt(() => readRecentErrors((windowS) => target.profile.metrics(target, windowS))),
      // With several instances, each one's /health too (the first is `app`), and the flag as it serves it.
      Promise.all(
        target.instances.slice(1).map(async (instance) => {
          const api = target.onInstance(instance).api;
          const [health, served] = await Promise.all([
            healthOf(api),
            via === 'api' ? attempt(() => target.profile.apiFlagStore(api, dryRunGate).read(ENHANCED_TRIMP_FLAG)) : undefined,
          ]);
          return { health, served };
        }),
      ),
    ]);
    const newest = await attempt(() => new BackupStore(config.backupsDir).entries()[0]);
    const locks = [stateLockPath(config.stateDir), targetLockPath(config.target)].flatMap((path) =>
      path ? [{ path, ...readLock(path) }] : [],
    );
    const { runs, damaged } = loadRuns(config.stateDir);
    const now = Date.now();
    return {
      target: {
        base_url: config.target.baseUrl,
        database: config.target.database,
        via,
        profile: config.target.profile,
        flag_changes: profileNamed(config.target.profile).flagChangeRefusal(config.target, via) ? 'refused: set in code' : 'allowed',
      },
      flag: flags.ok ? { name: ENHANCED_TRIMP_FLAG, states: flags.value } : { name: ENHANCED_TRIMP_FLAG, problem: flags.reason },
      app: {
        ...(health.ok ? health.value : { problem: health.reason }),
        commit: commit.ok ? commit.value : null,
      },
      ...(others.length > 0
        ? {
            instances: [{ health, served: flags }, ...others].map(({ health: h, served }, i) => ({
              base_url: target.instances[i]?.baseUrl,
              ...(h.ok ? h.value : { problem: h.reason }),
              ...(served?.ok ? { flag_states: served.value } : {}),
            })),
          }
        : {}),
      recent_errors: recent.ok ? recent.value : { problem: recent.reason },
      newest_backup: !newest.ok
        ? { problem: newest.reason }
        : newest.value
          ? {
              id: newest.value.id,
              created_at: newest.value.manifest?.created_at ?? null,
              age_ms: newest.value.manifest ? now - Date.parse(newest.value.manifest.created_at) : null,
              size_bytes: newest.value.manifest?.size ?? null,
              problem: newest.value.problem ?? null,
            }
          : null,
      locks: locks.map((lock) =>
        lock.kind === 'held'
          ? {
              path: lock.path,
              held_by: lock.holder.run_id,
              description: describeHolder(lock.holder),
              // Its process is gone (on this host): a leftover, not a run in progress.
              stale: lock.holder.host === hostname() && !isProcessAlive(lock.holder.pid),
            }
          : lock.kind === 'unreadable'
            ? { path: lock.path, problem: lock.why }
            : { path: lock.path, free: true },
      ),
      last_runs: runs.slice(-LAST_RUNS).map((run) => rowOf(run, now)),
      damaged_runs: damaged.length,
      state_dir: config.stateDir,
    };
  } finally {
    await target.close();
  }
}

type Status = Awaited<ReturnType<typeof gatherStatus>>;

/** `trend`: the recent error rate as a sparkline too (on a terminal only; a pipe gets the figures). */
function renderStatus(s: Status, trend: boolean): string {
  const profile = s.target.profile === 'seed' ? '' : `; ${s.target.profile} profile, flags read-only (set in code)`;
  const out: string[] = [`trimp-rollback status — ${s.target.base_url} (flag via ${s.target.via}${profile}), state in ${s.state_dir}`];
  const flag = s.flag as { name: string; states?: FlagStates; problem?: string };
  out.push(
    flag.states
      ? `flag      ${flag.name}: ${USER_TYPES.map((type) => `${type} ${describeState(flag.states?.[type])}`).join(', ')}`
      : `flag      ${flag.name}: could not be read: ${flag.problem}`,
  );
  const app = s.app as {
    http_status?: number;
    status?: string | null;
    version?: string | null;
    error?: string | null;
    problem?: string;
    commit: string | null;
  };
  const release = [app.version ? `release ${app.version}` : null, app.commit ? `commit ${app.commit.slice(0, 12)}` : null]
    .filter(Boolean)
    .join(', ');
  out.push(
    app.problem
      ? `app       not reachable: ${app.problem}${release ? ` (${release})` : ''}`
      : `app       /health ${app.http_status} ${app.status ?? ''}${app.error ? `: ${app.error}` : ''}${release ? `; ${release}` : ''}`,
  );
  const instances = (
    s as {
      instances?: { base_url: string; http_status?: number; status?: string | null; problem?: string; flag_states?: FlagStates }[];
    }
  ).instances;
  // The first instance is the app line above; the others each get theirs, and say so when they
  // serve another flag state than the first (a stale instance).
  for (const [index, instance] of (instances ?? []).entries()) {
    if (index === 0) continue;
    const differs = instance.flag_states && flag.states && USER_TYPES.some((type) => instance.flag_states?.[type] !== flag.states?.[type]);
    const serves = differs
      ? `; serves the flag as ${USER_TYPES.map((type) => `${type} ${describeState(instance.flag_states?.[type])}`).join(', ')} (NOT as instance 1)`
      : '';
    out.push(
      instance.problem
        ? `instance ${index + 1} ${instance.base_url}: not reachable: ${instance.problem}`
        : `instance ${index + 1} ${instance.base_url}: /health ${instance.http_status} ${instance.status ?? ''}${serves}`,
    );
  }
  out.push(describeRecentErrors(s.recent_errors, trend));
  const backup = s.newest_backup as { id?: string; age_ms?: number | null; size_bytes?: number | null; problem?: string | null } | null;
  out.push(
    backup === null
      ? 'backup    none yet (trimp-rollback backup create)'
      : backup.id === undefined
        ? `backup    could not be listed: ${backup.problem}`
        : `backup    newest ${backup.id}${backup.age_ms === null || backup.age_ms === undefined ? '' : `, ${formatAge(backup.age_ms)}`}${backup.size_bytes ? `, ${(backup.size_bytes / 1024 / 1024).toFixed(1)} MiB` : ''}${backup.problem ? `; ${backup.problem}` : ''}`,
  );
  for (const lock of s.locks as {
    path: string;
    held_by?: string;
    description?: string;
    problem?: string;
    free?: boolean;
    stale?: boolean;
  }[])
    out.push(
      lock.free
        ? `lock      free (${lock.path})`
        : lock.held_by
          ? lock.stale
            ? `lock      STALE (its process is gone): ${lock.description}; the next run says how to take it over`
            : `lock      HELD: ${lock.description}`
          : `lock      unreadable: ${lock.problem} (${lock.path})`,
    );
  if (s.last_runs.length === 0) out.push('runs      none yet');
  else {
    out.push(`runs      the last ${s.last_runs.length}:`);
    const table = s.last_runs.map((r) => [r.run_id, r.status, r.runbook, formatAge(r.age_ms), r.reason ?? '']);
    out.push(...renderTable(['run', 'status', 'runbook', 'age', 'reason'], table).map((line) => `  ${line}`));
  }
  if (s.damaged_runs > 0) out.push(`          and ${s.damaged_runs} run(s) whose journal cannot be read (trimp-rollback runs list)`);
  return `${out.join('\n')}\n`;
}

function describeRecentErrors(recent: RecentErrors | { problem: string }, trend: boolean): string {
  if ('problem' in recent) return `errors    could not be read: ${recent.problem}`;
  const rate = errorRateOf(recent);
  const figures = `${recent.errors}/${recent.requests} requests failed in the last ${recent.window_s} s${rate === null ? '' : ` (${(rate * 100).toFixed(1)}%)`}`;
  if (!trend || recent.slices.length === 0) return `errors    ${figures}`;
  const step = recent.window_s / recent.slices.length;
  return `errors    ${figures}  ${sparkline(recent.slices.map(errorRateOf))} (${step} s each, oldest first)`;
}

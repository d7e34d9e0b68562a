import { z } from 'zod';
import { processesHolding } from '../backup/sqlite-file.js';
import type { AppProcessConfig } from '../config/config.js';
import { type AppState, appState, startProblem } from '../target/app-process.js';
import { appCommit, checkoutProblem } from '../target/app-repo.js';
import { isPostgresUrl } from '../target/postgres.js';
import { defineAction } from './action.js';
import { type InstanceApp, instanceAppsOf } from './app-instances.js';
import { RELEASE_PLAN, type ReleasePlan } from './release-plan.js';
import { databaseFileOf } from './restore-source.js';

const params = z.object({}).strict();

/**
 * What would leave the app down halfway, found while it still runs: a PID file that names
 * another program (it would not be stopped), a start command that cannot run, another process
 * holding the database (it could write during the change).
 */
export function appProblems(
  apps: InstanceApp[],
  appDir: string,
  database: string,
): { states: AppState[]; others: number[]; problems: string[]; said: string } {
  const problems: string[] = [];
  const states = apps.map(({ app }) => appState(app));
  for (const [index, state] of states.entries()) {
    const { app } = apps[index] as InstanceApp;
    if (state.kind === 'foreign')
      problems.push(
        `the PID file ${app.pidFile} names pid ${state.pid} ("${state.commandLine.slice(0, 80)}"), which is not the app: it would not be stopped`,
      );
  }
  const cannotStart = startProblem(apps[0]?.app as AppProcessConfig, appDir);
  if (cannotStart) problems.push(`the app could not be started again: ${cannotStart} (target.app.start)`);
  const appPids = new Set(states.flatMap((state) => (state.kind === 'running' ? [state.pid] : [])));
  // A PostgreSQL database is not a file: its sessions are ended by the restore itself.
  const others = isPostgresUrl(database) ? [] : processesHolding(database).filter((pid) => !appPids.has(pid));
  if (others.length > 0) problems.push(`pid ${others.join(', ')} holds ${database} open besides the app: stop it first`);
  const said = [
    ...states.map((state, index) => describeAppState(state, (apps[index] as InstanceApp).label)),
    `${apps[0]?.app.start[0]} can start it again`,
    ...(isPostgresUrl(database) ? [] : ['nothing else holds the database']),
  ]
    .filter(Boolean)
    .join('; ');
  return { states, others, problems, said };
}

export function describeAppState(state: AppState, label = ''): string {
  return state.kind === 'running'
    ? `the app ${label}runs as pid ${state.pid}`
    : state.kind === 'stopped'
      ? `the app ${label}is not running (${state.why})`
      : '';
}

export const appPreflight = defineAction<z.output<typeof params>>({
  name: 'app.preflight',
  description: 'Before anything changes: the PID file names the app, its start command exists, nothing else holds the database.',
  rehearsal: 'probe',
  confirm: false,
  rerunWhenResumed: true,
  params,
  describe: (_params, info) => [
    { kind: 'file', text: `${info.app?.pidFile ?? 'target.app.pid_file'}: names a process that runs the app (or none)` },
    { kind: 'file', text: `${info.app?.start[0] ?? 'target.app.start'}: an executable program` },
    { kind: 'file', text: `/proc/*/fd: no process but the app holds ${databaseFileOf(info)} open` },
  ],
  async run(_params, ctx) {
    const { states, others, problems, said } = appProblems(instanceAppsOf(ctx.info), ctx.info.appDir, databaseFileOf(ctx.info));
    // On a resume, the checkout may have moved since the release was planned: deploying the old plan would misrecord it.
    const plan = ctx.run.observed.get(RELEASE_PLAN) as ReleasePlan | undefined;
    if (plan) {
      const now = await appCommit(plan.app_dir);
      if (now !== plan.from_commit && now !== plan.to_commit)
        problems.push(
          `${plan.app_dir} is at ${now?.slice(0, 12) ?? 'no commit'}, not ${plan.from_commit.slice(0, 12)} as planned: start a new run`,
        );
      else if (now === plan.from_commit) {
        const conflict = await checkoutProblem(plan.app_dir, plan.to_commit);
        if (conflict) problems.push(`git checkout of ${plan.to_commit.slice(0, 12)} would fail here: ${conflict}`);
      }
    }
    const evidence = { app: states.length === 1 ? states[0] : states, other_holders: others };
    if (problems.length > 0) return { status: 'failed', summary: `${problems.join('; ')}; nothing was changed`, evidence };
    return {
      status: 'succeeded',
      summary: said,
      evidence,
    };
  },
});

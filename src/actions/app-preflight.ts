import { z } from 'zod';
import { processesHolding } from '../backup/sqlite-file.js';
import type { AppProcessConfig } from '../config/config.js';
import { type AppState, appState, startProblem } from '../target/app-process.js';
import { appCommit, checkoutProblem } from '../target/app-repo.js';
import { defineAction } from './action.js';
import { appConfigOf } from './app-stop.js';
import { RELEASE_PLAN, type ReleasePlan } from './release-plan.js';
import { databaseFileOf } from './restore-source.js';

const params = z.object({}).strict();

/**
 * What would leave the app down halfway, found while it still runs: a PID file that names
 * another program (it would not be stopped), a start command that cannot run, another process
 * holding the database (it could write during the change).
 */
export function appProblems(
  app: AppProcessConfig,
  appDir: string,
  database: string,
): { state: AppState; others: number[]; problems: string[] } {
  const problems: string[] = [];
  const state = appState(app);
  if (state.kind === 'foreign')
    problems.push(
      `the PID file ${app.pidFile} names pid ${state.pid} ("${state.commandLine.slice(0, 80)}"), which is not the app: it would not be stopped`,
    );
  const cannotStart = startProblem(app, appDir);
  if (cannotStart) problems.push(`the app could not be started again: ${cannotStart} (target.app.start)`);
  const appPid = state.kind === 'running' ? state.pid : undefined;
  const others = processesHolding(database).filter((pid) => pid !== appPid);
  if (others.length > 0) problems.push(`pid ${others.join(', ')} holds ${database} open besides the app: stop it first`);
  return { state, others, problems };
}

export function describeAppState(state: AppState): string {
  return state.kind === 'running'
    ? `the app runs as pid ${state.pid}`
    : state.kind === 'stopped'
      ? `the app is not running (${state.why})`
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
    const app = appConfigOf(ctx.info);
    const { state, others, problems } = appProblems(app, ctx.info.appDir, databaseFileOf(ctx.info));
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
    const evidence = { app: state, other_holders: others };
    if (problems.length > 0) return { status: 'failed', summary: `${problems.join('; ')}; nothing was changed`, evidence };
    return {
      status: 'succeeded',
      summary: `${describeAppState(state)}; ${app.start[0]} can start it again; nothing else holds the database`,
      evidence,
    };
  },
});

import { dirname } from 'node:path';
import { z } from 'zod';
import { freeBytes } from '../backup/file-io.js';
import { processesHolding } from '../backup/sqlite-file.js';
import { formatBytes } from '../report/format.js';
import { appState, startProblem } from '../target/app-process.js';
import { defineAction } from './action.js';
import { appConfigOf } from './app-stop.js';
import { databaseFileOf, restoreSourceOf } from './restore-source.js';

const params = z.object({}).strict();

/**
 * What would stop the rollback halfway, found while the app still runs: the app cannot be
 * stopped by its PID file, could not be started again, another process holds the database,
 * or there is no room for the staged copy. Each would otherwise cost an outage.
 */
export const databasePreflight = defineAction<z.output<typeof params>>({
  name: 'database.preflight',
  description:
    'Before anything changes: the PID file names the app, its start command exists, nothing else holds the database, room for the staged copy.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: (_params, info) => [
    { kind: 'file', text: `${info.app?.pidFile ?? 'target.app.pid_file'}: names a process that runs the app (or none)` },
    { kind: 'file', text: `${info.app?.start[0] ?? 'target.app.start'}: an executable program` },
    { kind: 'file', text: `/proc/*/fd: no process but the app holds ${databaseFileOf(info)} open` },
    { kind: 'file', text: `free space in ${dirname(databaseFileOf(info))} for the staged copy` },
  ],
  async run(_params, ctx) {
    const app = appConfigOf(ctx.info);
    const database = databaseFileOf(ctx.info);
    const source = restoreSourceOf(ctx);
    const problems: string[] = [];
    const state = appState(app);
    if (state.kind === 'foreign')
      problems.push(
        `the PID file ${app.pidFile} names pid ${state.pid} ("${state.commandLine.slice(0, 80)}"), which is not the app: it would not be stopped`,
      );
    const cannotStart = startProblem(app, ctx.info.appDir);
    if (cannotStart) problems.push(`the app could not be started again: ${cannotStart} (target.app.start)`);
    const appPid = state.kind === 'running' ? state.pid : undefined;
    const others = processesHolding(database).filter((pid) => pid !== appPid);
    if (others.length > 0) problems.push(`pid ${others.join(', ')} holds ${database} open besides the app: stop it first`);
    const free = freeBytes(dirname(database));
    if (free < source.size + 1024 * 1024)
      problems.push(
        `not enough disk to stage the restore: ${dirname(database)} has ${formatBytes(free)} free, the copy needs ${formatBytes(source.size)}`,
      );
    const evidence = { app: state, other_holders: others, free_bytes: free, needed_bytes: source.size };
    if (problems.length > 0) return { status: 'failed', summary: `${problems.join('; ')}; nothing was changed`, evidence };
    const running =
      state.kind === 'running'
        ? `the app runs as pid ${state.pid}`
        : state.kind === 'stopped'
          ? `the app is not running (${state.why})`
          : '';
    return {
      status: 'succeeded',
      summary: `${running}; ${app.start[0]} can start it again; nothing else holds the database; ${formatBytes(free)} free for a ${formatBytes(source.size)} copy`,
      evidence,
    };
  },
});

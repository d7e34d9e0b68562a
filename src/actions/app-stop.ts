import { z } from 'zod';
import { processesHolding, settleExclusively } from '../backup/sqlite-file.js';
import type { AppProcessConfig } from '../config/config.js';
import { TrimpError } from '../errors.js';
import { formatMs } from '../report/format.js';
import { appState, stopApp } from '../target/app-process.js';
import { defineAction, type TargetInfo } from './action.js';
import { databaseFileOf } from './restore-source.js';

const params = z.object({}).strict();

export function appConfigOf(info: TargetInfo): AppProcessConfig {
  if (!info.app)
    throw new TrimpError('app-not-configured', 'the config has no target.app: the tool cannot stop or start the app', {
      remedy: 'add target.app { start: [argv...], pid_file } to the config (nothing was changed)',
    });
  return info.app;
}

/** The seed's "stop application" without `pkill -f`: by the recorded PID, checked, then proven. */
export const appStop = defineAction<z.output<typeof params>>({
  name: 'app.stop',
  description:
    'Stop the app by its recorded PID (checked to be the app): SIGTERM, the grace period, then SIGKILL; then prove nothing holds the database.',
  rehearsal: 'print',
  confirm: true,
  recheckWhenResumed: false,
  params,
  describe: (_params, info) => {
    const app = info.app;
    if (!app) return [{ kind: 'signal', text: 'target.app is not configured: this step will fail' }];
    return [
      { kind: 'signal', text: `SIGTERM the pid in ${app.pidFile} (only if /proc shows it runs: ${app.start.join(' ')})` },
      { kind: 'wait', text: `up to ${formatMs(app.stopGraceMs)} for it to exit, then SIGKILL` },
      { kind: 'sql', text: `exclusive lock on ${databaseFileOf(info)} with no wait (proves nothing else has it open)` },
    ];
  },
  async blastRadius(_params, ctx) {
    const app = appConfigOf(ctx.info);
    const state = appState(app);
    if (state.kind === 'running') return [`the app (pid ${state.pid}) stops: users get no answers until the start step`];
    if (state.kind === 'foreign')
      return [
        `the PID file names pid ${state.pid} (${state.commandLine.slice(0, 80)}), which is NOT the app: it will not be signalled, and this step fails`,
      ];
    return [`the app is not running (${state.why}): nothing to signal`];
  },
  async run(_params, ctx) {
    const app = appConfigOf(ctx.info);
    ctx.progress('stopping the app');
    const stopped = await stopApp(app);
    ctx.observe('app_stopped', stopped);
    const settled = await settleExclusively(databaseFileOf(ctx.info), { checkpoint: false });
    return {
      status: stopped.forced ? 'warned' : 'succeeded',
      summary: `${stopped.note}; ${settled.proof}`,
      evidence: { ...stopped, proof: settled.proof },
      ...(stopped.forced ? { warnings: [stopped.note] } : {}),
    };
  },
  async reconcile(_params, ctx) {
    const state = appState(appConfigOf(ctx.info));
    const holders = processesHolding(databaseFileOf(ctx.info));
    const done = state.kind === 'stopped' && holders.length === 0;
    const summary = done
      ? `the app is stopped (${state.kind === 'stopped' ? state.why : ''}) and nothing holds the database`
      : state.kind === 'running'
        ? `the app runs (pid ${state.pid})`
        : holders.length > 0
          ? `pid ${holders.join(', ')} holds the database open`
          : `the PID file names a process that is not the app`;
    return { done, summary };
  },
});

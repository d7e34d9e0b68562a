import { z } from 'zod';
import { processesHolding, settleExclusively } from '../backup/sqlite-file.js';
import type { AppProcessConfig } from '../config/config.js';
import { TrimpError } from '../errors.js';
import { formatMs } from '../report/format.js';
import { appState, type Stopped, stopApp } from '../target/app-process.js';
import { isPostgresUrl } from '../target/postgres.js';
import { defineAction, type TargetInfo } from './action.js';
import { instanceAppsOf } from './app-instances.js';
import { databaseFileOf } from './restore-source.js';

const params = z
  .object({
    /** A rolling deploy: the instances keep serving here; each is stopped just before it restarts (app.start). */
    rolling: z.boolean().default(false),
  })
  .strict();
type Params = z.output<typeof params>;

export function appConfigOf(info: TargetInfo): AppProcessConfig {
  if (!info.app)
    throw new TrimpError('app-not-configured', 'the config has no target.app: the tool cannot stop or start the app', {
      remedy: 'add target.app { start: [argv...], pid_file } to the config (nothing was changed)',
    });
  return info.app;
}

/** Rolling only means something with several instances: one instance is stopped here as always. */
export const rollsHere = (rolling: boolean, info: TargetInfo) => rolling && info.instances.length > 1;

/** The seed's "stop application" without `pkill -f`: by the recorded PID, checked, then proven. */
export const appStop = defineAction<Params>({
  name: 'app.stop',
  description:
    'Stop the app (every instance) by its recorded PID (checked to be the app): SIGTERM, the grace period, then SIGKILL; then prove nothing holds a SQLite database.',
  rehearsal: 'print',
  confirm: true,
  recheckWhenResumed: false,
  params,
  describe: ({ rolling }, info) => {
    if (!info.app) return [{ kind: 'signal', text: 'target.app is not configured: this step will fail' }];
    if (rollsHere(rolling, info))
      return [
        {
          kind: 'signal',
          text: `none yet: a rolling deploy keeps the ${info.instances.length} instances serving; each stops just before it restarts (the start step)`,
        },
      ];
    return [
      ...instanceAppsOf(info).flatMap(({ app, label }) => [
        {
          kind: 'signal' as const,
          text: `${label}SIGTERM the pid in ${app.pidFile} (only if /proc shows it runs: ${app.start.join(' ')})`,
        },
        { kind: 'wait' as const, text: `up to ${formatMs(app.stopGraceMs)} for it to exit, then SIGKILL` },
      ]),
      ...(isPostgresUrl(info.database)
        ? []
        : [{ kind: 'sql' as const, text: `exclusive lock on ${databaseFileOf(info)} with no wait (proves nothing else has it open)` }]),
    ];
  },
  async blastRadius({ rolling }, ctx) {
    if (rollsHere(rolling, ctx.info)) return [`none here: the ${ctx.info.instances.length} instances keep serving until each restarts`];
    return instanceAppsOf(ctx.info).map(({ app, label }) => {
      const state = appState(app);
      if (state.kind === 'running') return `the app ${label}(pid ${state.pid}) stops: users get no answers until the start step`;
      if (state.kind === 'foreign')
        return `the PID file ${app.pidFile} names pid ${state.pid} (${state.commandLine.slice(0, 80)}), which is NOT the app: it will not be signalled, and this step fails`;
      return `the app ${label}is not running (${state.why}): nothing to signal`;
    });
  },
  async run({ rolling }, ctx) {
    if (rollsHere(rolling, ctx.info)) return { status: 'succeeded', summary: rollingSummary(ctx.info) };
    const stopped: (Stopped & { instance: string })[] = [];
    for (const { app, label, instance } of instanceAppsOf(ctx.info)) {
      ctx.progress(`stopping the app ${label}`.trim());
      stopped.push({ ...(await stopApp(app)), instance: instance.baseUrl });
      ctx.observe('app_stopped', stopped.at(-1));
    }
    const proof = isPostgresUrl(ctx.info.database)
      ? undefined
      : (await settleExclusively(databaseFileOf(ctx.info), { checkpoint: false })).proof;
    const several = stopped.length > 1;
    const notes = stopped.map((s, i) => `${several ? `instance ${i + 1}: ` : ''}${s.note}`);
    const forced = stopped.filter((s) => s.forced).map((s) => s.note);
    return {
      status: forced.length > 0 ? 'warned' : 'succeeded',
      summary: [...notes, ...(proof ? [proof] : [])].join('; '),
      evidence: { stopped, ...(proof ? { proof } : {}) },
      ...(forced.length > 0 ? { warnings: forced } : {}),
    };
  },
  async reconcile({ rolling }, ctx) {
    if (rollsHere(rolling, ctx.info)) return { done: true, summary: rollingSummary(ctx.info) };
    const running = instanceAppsOf(ctx.info).flatMap(({ app, label }) => {
      const state = appState(app);
      if (state.kind === 'running') return [`the app ${label}runs (pid ${state.pid})`];
      if (state.kind === 'foreign') return [`the PID file ${app.pidFile} names a process that is not the app`];
      return [];
    });
    const holders = isPostgresUrl(ctx.info.database) ? [] : processesHolding(databaseFileOf(ctx.info));
    if (holders.length > 0) running.push(`pid ${holders.join(', ')} holds the database open`);
    return running.length === 0
      ? {
          done: true,
          summary: `the app is stopped${holders.length === 0 && !isPostgresUrl(ctx.info.database) ? ' and nothing holds the database' : ''}`,
        }
      : { done: false, summary: running.join('; ') };
  },
});

function rollingSummary(info: TargetInfo): string {
  return `rolling deploy: the ${info.instances.length} instances keep serving; each stops just before it restarts`;
}

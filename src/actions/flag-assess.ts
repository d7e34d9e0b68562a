import { join } from 'node:path';
import { z } from 'zod';
import { attempt } from '../errors.js';
import { tailLines } from '../target/app-logs.js';
import { describeState, USER_TYPES } from '../target/user-types.js';
import { defineAction } from './action.js';
import { flagName } from './params.js';

const params = z.object({ flag: flagName, log_lines: z.number().int().min(0).max(1000).default(20) }).strict();
type Params = z.output<typeof params>;

/**
 * The seed's "assess situation": the flag as it is, the performance metrics, user feedback and
 * the tail of the TRIMP log. Only the flag state is required; the rest is evidence when present.
 */
export const flagAssess = defineAction<Params>({
  name: 'flag.assess',
  description: 'Record the situation before acting: flag states, performance metrics, feedback summary, recent TRIMP log lines.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: () => [],
  async run({ flag, log_lines }, ctx) {
    const states = await ctx.target.flags.read(flag);
    const [metrics, feedback, log] = await Promise.all([
      attempt(() => ctx.target.api.getOk<{ performance_metrics?: { system_metrics?: unknown } }>('api/admin/trimp-performance-metrics')),
      attempt(() => ctx.target.api.getOk<unknown>('api/admin/feedback/summary')),
      attempt(async () => {
        const path = join(ctx.target.config.logsDir, 'trimp_calculation.log');
        const lines = await tailLines(path, 64 * 1024);
        if (lines === undefined) throw new Error(`no log at ${path}`);
        return lines.slice(-log_lines);
      }),
    ]);
    const evidence = {
      flag,
      states,
      system_metrics: metrics.ok ? (metrics.value.performance_metrics?.system_metrics ?? null) : { unavailable: metrics.reason },
      feedback: feedback.ok ? feedback.value : { unavailable: feedback.reason },
      trimp_log_tail: log.ok ? log.value : { unavailable: log.reason },
    };
    const summary = USER_TYPES.map((type) => `${type} ${describeState(states[type])}`).join(', ');
    return { status: 'succeeded', summary: `${flag}: ${summary}`, evidence };
  },
});

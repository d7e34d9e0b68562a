import { z } from 'zod';
import { attempt } from '../errors.js';
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
      attempt(() => ctx.target.profile.metrics(ctx.target, 15 * 60)),
      attempt(() => ctx.target.api.getOk<unknown>('api/admin/feedback/summary')),
      attempt(async () => {
        const tails = await ctx.target.logs.tails(64 * 1024);
        if (tails === undefined) throw new Error(`no log: none in ${ctx.target.logs.where}`);
        // The TRIMP lines: the seed's own log file, or the lines the app tags TRIMP_ (TRIMP_CALC:, TRIMP_COMPARISON:).
        const own = tails.find((t) => t.source.endsWith('trimp_calculation.log'));
        return (own ? own.lines : tails.flatMap((t) => t.lines).filter((line) => /TRIMP/.test(line))).slice(-log_lines);
      }),
    ]);
    const evidence = {
      flag,
      states,
      system_metrics: metrics.ok ? metrics.value : { unavailable: metrics.reason },
      feedback: feedback.ok ? feedback.value : { unavailable: feedback.reason },
      trimp_log_tail: log.ok ? log.value : { unavailable: log.reason },
    };
    const summary = USER_TYPES.map((type) => `${type} ${describeState(states[type])}`).join(', ');
    return { status: 'succeeded', summary: `${flag}: ${summary}`, evidence };
  },
});

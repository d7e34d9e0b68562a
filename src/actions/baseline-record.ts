import { z } from 'zod';
import { captureBaseline } from '../checks/baseline.js';
import { defineAction } from './action.js';

const params = z.object({}).strict();
type Params = z.output<typeof params>;

/**
 * Before a scenario changes anything: row counts, newest activity, error rate and schema hash,
 * journaled, so that "historical data intact" and "schema consistent" have something to compare.
 */
export const baselineRecord = defineAction<Params>({
  name: 'baseline.record',
  description: 'Record the baseline (row counts, newest activity, error rate, schema hash) in the journal before anything changes.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: () => [],
  async run(_params, ctx) {
    const baseline = await captureBaseline(ctx.target);
    ctx.observe('baseline', baseline);
    if ('unavailable' in baseline) {
      return {
        status: 'warned',
        summary: 'no baseline: the database could not be read from here',
        warnings: [baseline.unavailable],
        evidence: baseline,
      };
    }
    const counts = Object.entries(baseline.row_counts)
      .map(([table, n]) => `${table} ${n}`)
      .join(', ');
    return {
      status: 'succeeded',
      summary: `${counts}; newest activity ${baseline.newest_activity}; schema ${baseline.schema_hash.slice(0, 12)}`,
      evidence: { ...baseline },
    };
  },
});

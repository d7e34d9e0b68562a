import { z } from 'zod';
import type { Baseline } from '../checks/baseline.js';
import { ALL_CHECKS, CHECK_NAMES, CHECKS } from '../checks/registry.js';
import { runChecks } from '../checks/run-checks.js';
import { defineAction } from './action.js';
import { appNeed, appRequirement } from './params.js';
import { RESTORED_BASELINE } from './restore-source.js';

const params = z
  .object({
    checks: z
      .array(z.enum(CHECK_NAMES as [string, ...string[]]))
      .min(1)
      .optional(),
    app: appRequirement,
  })
  .strict();
type Params = z.output<typeof params>;

/** The post-rollback checklist as a step: the run fails if a check fails. */
export const validate = defineAction<Params>({
  name: 'validate',
  description: "Run the seed's post-rollback checklist (all checks, or the named ones); the step fails if any check fails.",
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: () => [],
  async run({ checks, app }, ctx) {
    const selected = checks ? ALL_CHECKS.filter((c) => checks.includes(c.name)) : CHECKS;
    // After a restore, "intact" is judged against what was restored, not the damaged database before it.
    const baseline = (ctx.run.observed.get(RESTORED_BASELINE) ?? ctx.run.observed.get('baseline')) as
      | Baseline
      | { unavailable: string }
      | undefined;
    const reports = await runChecks(selected, {
      target: ctx.target,
      thresholds: ctx.target.thresholds,
      since: ctx.run.startedAt,
      changedAt: ctx.run.lastChangeAt,
      baseline: baseline && !('unavailable' in baseline) ? baseline : undefined,
      app: appNeed(app, ctx.target.via),
      settleMs: ctx.run.settleMs,
    });
    const failed = reports.filter((r) => r.status === 'fail');
    const warned = reports.filter((r) => r.status === 'warn');
    const counts = ['pass', 'warn', 'fail', 'skip'].map((s) => `${reports.filter((r) => r.status === s).length} ${s}`).join(', ');
    const evidence = { checks: reports };
    if (failed.length > 0)
      return { status: 'failed', summary: `${counts}: ${failed.map((r) => `${r.name}: ${r.summary}`).join('; ')}`, evidence };
    return {
      status: warned.length > 0 ? 'warned' : 'succeeded',
      summary: counts,
      evidence,
      warnings: warned.map((r) => `${r.name}: ${r.summary}${r.remedy ? ` — ${r.remedy}` : ''}`),
    };
  },
});

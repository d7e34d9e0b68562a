import { z } from 'zod';
import { acrossInstances } from '../checks/across-instances.js';
import type { CheckResult } from '../checks/check.js';
import { appResponsive } from '../checks/system-health.js';
import { apiUrl } from '../target/admin-api.js';
import { defineAction, type OutcomeStatus } from './action.js';
import { appNeed, appRequirement } from './params.js';

const params = z.object({ app: appRequirement }).strict();
type Params = z.output<typeof params>;

const OUTCOME: Record<CheckResult['status'], OutcomeStatus> = { pass: 'succeeded', warn: 'warned', fail: 'failed', skip: 'warned' };

/** The seed's "check system health" step: the same check as validation's `app-responsive`. */
export const appHealth = defineAction<Params>({
  name: 'app.health',
  description: 'GET /health: the app (every instance of it) answers 200 with status "healthy".',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: (_params, info) => info.instances.map((url) => ({ kind: 'http', text: `GET ${apiUrl(url, 'health')}` })),
  async run({ app }, ctx) {
    const result = await acrossInstances(appResponsive, {
      target: ctx.target,
      thresholds: ctx.target.thresholds,
      since: ctx.run.startedAt,
      changedAt: ctx.run.lastChangeAt,
      baseline: undefined,
      app: appNeed(app, ctx.target.via),
      settleMs: 0,
      // Not the run's interrupt signal: a Ctrl-C lets this call finish (within its own timeout).
      signal: AbortSignal.timeout(ctx.target.thresholds.checkTimeoutMs),
    });
    const summary = result.remedy && result.status !== 'pass' ? `${result.summary} (${result.remedy})` : result.summary;
    return {
      status: OUTCOME[result.status],
      summary,
      ...(result.evidence ? { evidence: result.evidence } : {}),
      ...(result.status === 'skip' ? { warnings: [result.summary] } : {}),
    };
  },
});

import type { Instance } from '../target/instances.js';
import type { CheckContext, CheckDefinition, CheckResult, CheckStatus } from './check.js';

const RANK: Record<CheckStatus, number> = { pass: 0, skip: 1, warn: 2, fail: 3 };

/**
 * A check of what users see, asked of every instance of the app at once. It passes only if it
 * passes on each: one bad instance in two serves every other request wrong. Each instance's
 * answer is kept in the evidence, and the summary names each.
 */
export async function acrossInstances(check: CheckDefinition, ctx: CheckContext): Promise<CheckResult> {
  const instances = ctx.target.instances;
  if (!check.perInstance || instances.length < 2) return check.run(ctx);
  const results = await Promise.all(instances.map((instance) => check.run({ ...ctx, target: ctx.target.onInstance(instance) })));
  const worst = results.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a));
  const label = (instance: Instance) => `instance ${instance.number}`;
  const summary = results.every((r) => r.summary === results[0]?.summary)
    ? `all ${instances.length} instances: ${worst.summary}`
    : results.map((r, i) => `${label(instances[i] as Instance)}: ${r.summary}`).join('; ');
  return {
    status: worst.status,
    summary,
    ...(worst.remedy ? { remedy: worst.remedy } : {}),
    evidence: {
      instances: Object.fromEntries(
        results.map((r, i) => [(instances[i] as Instance).baseUrl, { status: r.status, summary: r.summary, ...(r.evidence ?? {}) }]),
      ),
    },
  };
}

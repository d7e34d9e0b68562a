import { z } from 'zod';
import { appCommit, checkoutCommit } from '../target/app-repo.js';
import { deploysPath, readDeployments, recordDeployment } from '../target/deploy-history.js';
import { type ActionContext, defineAction } from './action.js';
import { type ReleasePlan, releasePlanOf } from './release-plan.js';

const params = z.object({}).strict();

/** The seed's `git checkout <previous>`, to the commit the plan chose, recorded in the deploy history. */
export const releaseDeploy = defineAction<z.output<typeof params>>({
  name: 'release.deploy',
  description: 'Check out the chosen release in the app directory (git, an argument array) and record the deployment.',
  rehearsal: 'print',
  confirm: true,
  params,
  describe: (_params, info) => [
    { kind: 'command', text: `git -C ${info.appDir} checkout --quiet --detach <the commit chosen by the plan>` },
    { kind: 'file', text: `append the deployment to ${deploysPath(info.stateDir)}` },
  ],
  async blastRadius(_params, ctx) {
    const plan = releasePlanOf(ctx.run.observed);
    return [
      `${plan.app_dir}: ${plan.from_commit.slice(0, 12)} (${plan.from_version ?? '?'}) → ${plan.to_commit.slice(0, 12)} (${plan.to_version ?? '?'})`,
      ...(plan.undone.length ? ['commits undone:', ...plan.undone.map((line) => `  ${line}`)] : []),
    ];
  },
  async run(_params, ctx) {
    const plan = releasePlanOf(ctx.run.observed);
    await checkoutCommit(plan.app_dir, plan.to_commit);
    record(ctx, plan);
    return {
      status: 'succeeded',
      summary: `${plan.app_dir} is at ${plan.to_commit.slice(0, 12)} (${plan.to_version ?? '?'}), was ${plan.from_commit.slice(0, 12)} (${plan.from_version ?? '?'})`,
      evidence: { ...plan },
    };
  },
  async reconcile(_params, ctx) {
    const plan = releasePlanOf(ctx.run.observed);
    const now = await appCommit(plan.app_dir);
    if (now !== plan.to_commit) return { done: false, summary: `${plan.app_dir} is at ${now?.slice(0, 12) ?? 'no commit'}` };
    // Checked out, but killed before the history line was written: write it now (once per run).
    const recorded = readDeployments(ctx.info.stateDir).some((d) => d.run_id === ctx.info.runId && d.to_commit === plan.to_commit);
    const wrote = !recorded && now !== plan.from_commit;
    if (wrote) record(ctx, plan);
    return {
      done: true,
      summary: `${plan.app_dir} is already at ${plan.to_commit.slice(0, 12)}${wrote ? ' (deployment recorded now)' : ''}`,
    };
  },
});

function record(ctx: ActionContext, plan: ReleasePlan): void {
  recordDeployment(ctx.info.stateDir, {
    run_id: ctx.info.runId,
    at: new Date().toISOString(),
    operator: ctx.run.who.operator,
    reason: ctx.run.who.reason,
    app_dir: plan.app_dir,
    from_commit: plan.from_commit,
    to_commit: plan.to_commit,
    from_version: plan.from_version,
    to_version: plan.to_version,
  });
}

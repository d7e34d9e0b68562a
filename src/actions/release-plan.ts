import { z } from 'zod';
import { TrimpError } from '../errors.js';
import { appCommit, checkoutProblem, commitsBetween, diffStat, dirtyTree, isAncestor, resolveCommit } from '../target/app-repo.js';
import { commitBefore, readDeployments, releaseAt } from '../target/deploy-history.js';
import { defineAction } from './action.js';

const params = z.object({ to: z.string().min(1).default('previous'), force: z.boolean().default(false) }).strict();
type Params = z.output<typeof params>;

/** What the application rollback deploys, decided (and journaled) before anything changes. */
export interface ReleasePlan {
  app_dir: string;
  from_commit: string;
  to_commit: string;
  from_version: string | null;
  to_version: string | null;
  /** How the target was found: the given ref, the deploy history, or HEAD~1. */
  chosen_by: string;
  /** The commits being undone, newest first, one line each. */
  undone: string[];
  dirty: string[];
}

export const RELEASE_PLAN = 'release_plan';

export function releasePlanOf(observed: ReadonlyMap<string, unknown>): ReleasePlan {
  const plan = observed.get(RELEASE_PLAN) as ReleasePlan | undefined;
  if (!plan)
    throw new TrimpError('release-plan-missing', 'no release was chosen by an earlier step', {
      remedy: 'a runbook that deploys needs a release.plan step first',
    });
  return plan;
}

/**
 * The seed's "identify the previous version" without looking a hash up under pressure: the
 * commit that ran before the current one (the tool's deploy history; else HEAD~1, said), or the
 * ref given. A dirty work tree is refused unless forced (journaled with its diff stat); a
 * release that expects another database schema than the database has is refused.
 */
export const releasePlan = defineAction<Params>({
  name: 'release.plan',
  description:
    'Choose the release to deploy (default: the one that ran before), refuse a dirty checkout, check the database schema it expects.',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: ({ to }, info) => [
    { kind: 'command', text: `git -C ${info.appDir} status --porcelain --untracked-files=no` },
    {
      kind: 'command',
      text:
        to === 'previous'
          ? `the commit that ran before HEAD: ${info.stateDir}/deploys.jsonl, else git rev-parse HEAD~1`
          : `git -C ${info.appDir} rev-parse --verify ${to}^{commit}`,
    },
    { kind: 'command', text: `git -C ${info.appDir} show <target>:app.json (the schema it expects) against PRAGMA user_version` },
  ],
  async run({ to, force }, ctx) {
    const appDir = ctx.info.appDir;
    const dirty = await dirtyTree(appDir);
    const warnings: string[] = [];
    if (dirty.length > 0) {
      const stat = await diffStat(appDir);
      ctx.observe('dirty_tree', { files: dirty, diff_stat: stat });
      if (!force)
        return {
          status: 'failed',
          summary: `${appDir} has uncommitted changes (${dirty.length} file(s): ${dirty.slice(0, 3).join(', ')}); nothing was changed`,
          evidence: { dirty, diff_stat: stat },
        };
      warnings.push(`deploying over uncommitted changes (--force): ${stat.split('\n').at(-1)?.trim() ?? ''}`);
    }
    const current = await appCommit(appDir);
    if (!current) throw new TrimpError('app-repo', `${appDir} is not a git checkout with a commit`, { remedy: 'check target.app_dir' });
    let target: string | undefined;
    let chosenBy: string;
    if (to === 'previous') {
      const recorded = commitBefore(readDeployments(ctx.info.stateDir), appDir, current);
      // The history is a file: what it names must still be a commit here (not an option, not another repo's).
      target = recorded ? await resolveCommit(appDir, recorded) : undefined;
      chosenBy = target
        ? 'the commit that ran before it (deploy history)'
        : recorded
          ? `HEAD~1 (the deploy history names ${recorded.slice(0, 40)}, which is not a commit here)`
          : 'HEAD~1 (no deploy history for this commit)';
      target ??= await resolveCommit(appDir, 'HEAD~1');
      if (!target)
        throw new TrimpError('release-none', `${appDir} has no commit before ${current.slice(0, 12)}`, {
          remedy: 'name the release: --to REF',
        });
    } else {
      target = await resolveCommit(appDir, to);
      chosenBy = `--to ${to}`;
      if (!target)
        throw new TrimpError('release-unknown', `unknown ref in ${appDir}: ${to}`, {
          exitCode: 2,
          remedy: 'give a commit, tag or branch that git log shows',
        });
    }
    // A change or an untracked file the checkout would overwrite stops the run here, --force or not:
    // found after the app is down, it would leave it down.
    const conflict = await checkoutProblem(appDir, target);
    if (conflict)
      return {
        status: 'failed',
        summary: `git checkout of ${target.slice(0, 12)} would fail here: ${conflict}; nothing was changed`,
        evidence: { from_commit: current, to_commit: target, conflict },
      };
    if (target !== current && (await isAncestor(appDir, current, target)))
      warnings.push(`${target.slice(0, 12)} is newer than the running ${current.slice(0, 12)}: this rolls forward (chosen by ${chosenBy})`);
    const [from, into] = [await releaseAt(appDir, current), await releaseAt(appDir, target)];
    const plan: ReleasePlan = {
      app_dir: appDir,
      from_commit: current,
      to_commit: target,
      from_version: from.version,
      to_version: into.version,
      chosen_by: chosenBy,
      undone: await commitsBetween(appDir, target, current),
      dirty,
    };
    ctx.observe(RELEASE_PLAN, plan);

    const schema = await schemaAgainstDatabase(ctx, into.schema);
    const evidence = { ...plan, schema };
    const text = `${current.slice(0, 12)} (${from.version ?? '?'}) → ${target.slice(0, 12)} (${into.version ?? '?'}), chosen by ${chosenBy}; undoes ${plan.undone.length} commit(s)${plan.undone.length ? `: ${plan.undone.join(' | ')}` : ''}`;
    if (schema.status === 'mismatch') return { status: 'failed', summary: `${text}; ${schema.text}; nothing was changed`, evidence };
    if (schema.status === 'unknown') warnings.push(schema.text);
    return {
      status: warnings.length ? 'warned' : 'succeeded',
      summary: `${text}; ${schema.text}`,
      evidence,
      ...(warnings.length ? { warnings } : {}),
    };
  },
});

async function schemaAgainstDatabase(
  ctx: Parameters<typeof releasePlan.run>[1],
  expected: number | null,
): Promise<{ status: 'ok' | 'mismatch' | 'unknown'; text: string }> {
  if (expected === null)
    return { status: 'unknown', text: 'the release does not declare the schema it expects (app.json "schema"): not checked' };
  try {
    const db = await ctx.target.openDatabase({ readonly: true });
    try {
      if (db.kind === 'postgres')
        return { status: 'unknown', text: "a PostgreSQL database has no user_version to compare with the release's schema: not checked" };
      const [row] = await db.all<{ user_version: number }>('PRAGMA user_version');
      const has = row?.user_version ?? 0;
      return has === expected
        ? { status: 'ok', text: `schema ${expected} matches the database` }
        : {
            status: 'mismatch',
            text: `the release expects database schema ${expected}, the database has ${has}: deploying it would break the app — the database rollback (trimp-rollback database) is the scenario that fits`,
          };
    } finally {
      await db.close();
    }
  } catch (error) {
    return { status: 'unknown', text: `the database schema could not be read (${(error as Error).message.slice(0, 120)}): not checked` };
  }
}

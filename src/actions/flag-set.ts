import { z } from 'zod';
import { messageOf } from '../errors.js';
import { apiUrl } from '../target/admin-api.js';
import { describeState, describeTransition, type FlagStates, USER_TYPES, type UserType } from '../target/user-types.js';
import { defineAction, type Operation, type TargetInfo } from './action.js';
import { flagName, flagStates } from './params.js';

const params = z.object({ flag: flagName, states: flagStates }).strict();
type Params = z.output<typeof params>;

function targets(states: FlagStates): [UserType, boolean][] {
  return USER_TYPES.flatMap((type) => (states[type] === undefined ? [] : [[type, states[type] as boolean] as [UserType, boolean]]));
}

function operations({ flag, states }: Params, info: TargetInfo): Operation[] {
  return targets(states).map(([userType, enabled]) =>
    info.via === 'api'
      ? {
          kind: 'http',
          text: `POST ${apiUrl(info.baseUrl, `api/admin/feature-flags/${flag}/toggle`)} ${JSON.stringify({ user_type: userType, enabled })}`,
        }
      : {
          kind: 'sql',
          text: `${info.database}: UPDATE feature_flags SET enabled = ${enabled ? 1 : 0}, updated_at = <now>, updated_by = '${info.actor}' WHERE name = '${flag}' AND user_type = '${userType}' (INSERT if no row)`,
        },
  );
}

export const flagSet = defineAction<Params>({
  name: 'flag.set',
  description: 'Set a feature flag to a given state per user type (reads and journals the previous state first).',
  rehearsal: 'print',
  confirm: true,
  params,
  describe: operations,
  async blastRadius({ flag, states }, ctx) {
    const current = await ctx.target.flags.read(flag);
    return [`${flag} via ${ctx.target.via}:`, ...describeTransition(current, states).map((line) => `  ${line}`)];
  },
  async run({ flag, states }, ctx) {
    const before = await ctx.target.flags.read(flag);
    // Journaled (and fsynced) before the first write: `flag restore` puts these back, even if
    // the run dies between two types' writes.
    ctx.observe('flag_states_before', { flag, states: before, targets: states });
    const done: string[] = [];
    for (const [userType, enabled] of targets(states)) {
      ctx.progress(`${userType} → ${enabled ? 'enabled' : 'disabled'}`);
      try {
        await ctx.target.flags.set(flag, userType, enabled, ctx.info.actor);
      } catch (error) {
        // Which types changed before the failure is what the operator must know first.
        const changed = done.length ? `${done.join(', ')} already set; ` : 'nothing was set; ';
        return {
          status: 'failed',
          summary: `setting ${userType} failed: ${messageOf(error)} (${changed}flag restore --run puts back the states journaled before)`,
          evidence: { flag, before, set: done, failed_at: userType, via: ctx.target.via },
        };
      }
      done.push(`${userType}=${enabled ? 'enabled' : 'disabled'}`);
    }
    const after = await ctx.target.flags.read(flag);
    const wrong = targets(states).filter(([type, enabled]) => after[type] !== enabled);
    const evidence = { flag, before, after, via: ctx.target.via };
    if (wrong.length > 0) {
      // The store said yes to every write, and the state is what it was: the app acknowledges
      // changes it does not make (a placeholder endpoint, flags set in code). Never a green step.
      const unchanged = wrong.every(([type]) => after[type] === before[type]);
      const states = wrong.map(([t]) => `${t} still ${describeState(after[t])}`).join(', ');
      return {
        status: 'failed',
        summary: unchanged
          ? `acknowledged but not applied: ${ctx.target.flags.location} answered every change with success, and reading the flag back shows ${states}; this app does not change the flag this way (an application rollback to a release without it does: trimp-rollback application, or --to COMMIT)`
          : `read back ${wrong.map(([t]) => `${t}=${after[t]}`).join(', ')} after setting`,
        evidence: { ...evidence, acknowledged_not_applied: unchanged },
      };
    }
    return { status: 'succeeded', summary: describeTransition(before, states).join('; '), evidence };
  },
  async reconcile({ flag, states }, ctx) {
    const now = await ctx.target.flags.read(flag);
    const done = targets(states).every(([type, enabled]) => now[type] === enabled);
    const summary = done ? 'the flag already has the target states' : `not yet: ${describeTransition(now, states).join('; ')}`;
    return { done, summary, evidence: { flag, states: now } };
  },
});

import { z } from 'zod';
import { type AppTrimpAnswer, checkAppTrimp } from '../checks/app-trimp.js';
import { describeState, type FlagStates, USER_TYPES, type UserType } from '../target/user-types.js';
import { defineAction } from './action.js';
import { whenAppReachable } from './app-reachability.js';
import { appNeed, appRequirement, flagName, flagStates } from './params.js';

const params = z.object({ flag: flagName, states: flagStates, app: appRequirement }).strict();
type Params = z.output<typeof params>;

const typesOf = (states: FlagStates): UserType[] => USER_TYPES.filter((type) => states[type] !== undefined);

export const flagVerify = defineAction<Params>({
  name: 'flag.verify',
  description:
    'Prove the flag took effect: read the states back, evaluate a sample user of each type, and ask the app to calculate TRIMP for each (average method when off, stream when on).',
  rehearsal: 'probe',
  confirm: false,
  params,
  describe: () => [],
  async run({ flag, states, app: given }, ctx) {
    const app = appNeed(given, ctx.target.via);
    const problems: string[] = [];
    const warnings: string[] = [];
    const store = ctx.target.flags;

    const readBack = await store.read(flag);
    for (const type of typesOf(states)) {
      if (readBack[type] !== states[type])
        problems.push(`${type} reads ${describeState(readBack[type])}, expected ${describeState(states[type])}`);
    }

    const evaluations: Record<string, unknown> = {};
    for (const type of typesOf(states)) {
      const userId = ctx.target.config.sampleUsers[type];
      const evaluation = await whenAppReachable(store.via === 'api' ? app : 'required', warnings, `evaluating user ${userId}`, () =>
        store.evaluate(flag, userId),
      );
      if (!evaluation) continue;
      evaluations[`user_${userId}`] = evaluation;
      if (evaluation.userType !== type)
        problems.push(`sample user ${userId} is ${evaluation.userType}, not ${type}: fix target.sample_users`);
      else if (evaluation.enabled !== states[type])
        problems.push(`user ${userId} (${type}) evaluates ${describeState(evaluation.enabled)}`);
    }

    const answers: AppTrimpAnswer[] = [];
    for (const type of typesOf(states)) {
      const userId = ctx.target.config.sampleUsers[type];
      const answer = await whenAppReachable(app, warnings, `the app's TRIMP for user ${userId}`, () =>
        checkAppTrimp(ctx.target.api, userId, states[type] as boolean),
      );
      if (!answer) continue;
      answers.push(answer);
      if (!answer.ok && answer.problem) problems.push(answer.problem);
    }

    const evidence = { flag, via: store.via, states: readBack, evaluations, trimp: answers };
    if (problems.length > 0) return { status: 'failed', summary: problems.join('; '), evidence, warnings };
    const checked = typesOf(states)
      .map((type) => `${type} ${describeState(states[type])}`)
      .join(', ');
    const methods = answers.map((a) => `user ${a.userId} → ${String(a.method)} ${String(a.trimp)}`).join(', ');
    return {
      status: warnings.length > 0 ? 'warned' : 'succeeded',
      summary: `${checked}${methods ? `; TRIMP: ${methods}` : ''}`,
      evidence,
      warnings,
    };
  },
});

import { z } from 'zod';
import { dryRunGate } from '../target/flag-store.js';
import { instanceLabel } from '../target/instances.js';
import type { TrimpAnswer } from '../target/profiles/index.js';
import type { Target } from '../target/target.js';
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
    const instances = ctx.target.instances;
    const evidence: Record<string, unknown>[] = [];
    const methods: string[][] = [];
    const failedOn: boolean[] = [];
    // A change is verified only when every instance answers with the new state: an instance with
    // a stale cache serves the old calculation to every other request.
    for (const instance of instances) {
      const said = instanceLabel(instance, instances.length);
      const seen = await verifyOn(ctx.target.onInstance(instance), { flag, states, app }, warnings, said ? `${said}: ` : '', ctx.signal);
      // One line per instance: which instance serves what is the finding.
      if (seen.problems.length > 0) problems.push(`${said ? `${said}: ` : ''}${seen.problems.join(', ')}`);
      failedOn.push(seen.problems.length > 0);
      evidence.push({ ...(said ? { instance: instance.baseUrl } : {}), ...seen.evidence });
      methods.push(seen.answers.map((a) => `user ${a.userId} → ${a.answer}`));
    }
    const journaled = instances.length > 1 ? { flag, via: ctx.target.flags.via, instances: evidence } : (evidence[0] ?? {});
    // Some instances serve the change and some do not: the stale ones hold an old view (a cache).
    const stale = instances.filter((_, i) => failedOn[i]);
    if (stale.length > 0 && stale.length < instances.length)
      warnings.push(
        `${stale.map((i) => `instance ${i.number}`).join(', ')} ${stale.length > 1 ? 'do' : 'does'} not serve the change while the others do: restart ${stale.length > 1 ? 'them' : 'it'}, then resume this run to verify again`,
      );
    if (problems.length > 0) return { status: 'failed', summary: problems.join('; '), evidence: journaled, warnings };
    const checked = typesOf(states)
      .map((type) => `${type} ${describeState(states[type])}`)
      .join(', ');
    const where = instances.length > 1 ? ` on all ${instances.length} instances` : '';
    return {
      status: warnings.length > 0 ? 'warned' : 'succeeded',
      summary: `${checked}${where}${trimpSaid(methods)}`,
      evidence: journaled,
      warnings,
    };
  },
});

/** The flag as one instance serves it: read back, each sample user evaluated, TRIMP asked of the app. */
async function verifyOn(
  target: Target,
  { flag, states, app }: { flag: string; states: FlagStates; app: 'required' | 'optional' },
  warnings: string[],
  prefix: string,
  signal: AbortSignal,
): Promise<{ problems: string[]; evidence: Record<string, unknown>; answers: TrimpAnswer[] }> {
  const problems: string[] = [];
  // Through the API, each instance is asked what it serves (as the app's profile reads it); through the database, the one state.
  const store = target.via === 'api' ? target.profile.apiFlagStore(target.api, dryRunGate) : target.flags;
  const readBack = await store.read(flag);
  for (const type of typesOf(states)) {
    if (readBack[type] !== states[type])
      problems.push(`${type} reads ${describeState(readBack[type])}, expected ${describeState(states[type])}`);
  }

  const evaluations: Record<string, unknown> = {};
  for (const type of typesOf(states)) {
    const userId = target.config.sampleUsers[type];
    const evaluation = await whenAppReachable(store.via === 'api' ? app : 'required', warnings, `${prefix}evaluating user ${userId}`, () =>
      store.evaluate(flag, userId),
    );
    if (!evaluation) continue;
    evaluations[`user_${userId}`] = evaluation;
    if (evaluation.userType !== type)
      problems.push(`sample user ${userId} is ${evaluation.userType}, not ${type}: fix target.sample_users`);
    else if (evaluation.enabled !== states[type]) problems.push(`user ${userId} (${type}) evaluates ${describeState(evaluation.enabled)}`);
  }

  const answers: TrimpAnswer[] = [];
  for (const type of typesOf(states)) {
    const userId = target.config.sampleUsers[type];
    const answered = await whenAppReachable(app, warnings, `${prefix}the app's TRIMP for user ${userId}`, () =>
      target.profile.appTrimp(target, userId, states[type] as boolean, 1, signal),
    );
    const answer = answered?.[0];
    if (!answer) continue;
    answers.push(answer);
    if (!answer.ok && answer.problem) problems.push(answer.problem);
  }
  const trimp = answers.map(({ details, ...answer }) => ({ ...answer, ...details }));
  return { problems, evidence: { flag, via: store.via, states: readBack, evaluations, trimp }, answers };
}

/** The app's TRIMP answers; said once when every instance gave the same ones. */
function trimpSaid(perInstance: string[][]): string {
  const [first = []] = perInstance;
  if (first.length === 0 && perInstance.every((m) => m.length === 0)) return '';
  if (perInstance.every((m) => m.join() === first.join()))
    return `; TRIMP: ${first.join(', ')}${perInstance.length > 1 ? ' (each instance)' : ''}`;
  return `; TRIMP: ${perInstance.map((m, i) => `instance ${i + 1}: ${m.join(', ')}`).join('; ')}`;
}

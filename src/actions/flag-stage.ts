import { z } from 'zod';
import { defineAction } from './action.js';
import { flagSet } from './flag-set.js';
import { flagName, stageLeftOut, stageNumber, stageOrder } from './params.js';

const params = z.object({ flag: flagName, stages: stageOrder, stage: stageNumber }).strict();
type Params = z.output<typeof params>;

/** The flag.set this stage amounts to: its cohort off, every other cohort untouched. */
function asFlagSet({ flag, stages, stage }: Params) {
  return { flag, states: { [stages[stage - 1] as string]: false } };
}

/**
 * One stage of a gradual rollback: the flag off for the stage's cohort only (`stages[stage-1]`),
 * with everything flag.set does (the states before journaled first, read back after).
 */
export const flagStage = defineAction<Params>({
  name: 'flag.stage',
  description: 'Gradual rollback stage: disable the flag for the stage-th cohort of `stages` only (as flag.set does).',
  rehearsal: 'print',
  confirm: true,
  params,
  describe: (p, info) => flagSet.describe(asFlagSet(p), info),
  leftOut: ({ stages, stage }) => stageLeftOut(stages, stage),
  blastRadius: (p, ctx) => flagSet.blastRadius!(asFlagSet(p), ctx),
  run: (p, ctx) => flagSet.run(asFlagSet(p), ctx),
  reconcile: (p, ctx) => flagSet.reconcile!(asFlagSet(p), ctx),
});

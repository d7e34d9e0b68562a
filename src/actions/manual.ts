import { z } from 'zod';
import { defineAction } from './action.js';

const params = z.object({ instructions: z.string().min(1) }).strict();
type Params = z.output<typeof params>;

/**
 * A step only a person can do (tell the team, check a dashboard elsewhere). The tool cannot do
 * or simulate it; a real run shows the instructions and asks the operator to confirm it is done.
 */
export const manual = defineAction<Params>({
  name: 'manual',
  description: 'A step the operator performs by hand; the run waits for their confirmation.',
  rehearsal: 'cannot-simulate',
  confirm: true,
  params,
  describe: ({ instructions }) => [{ kind: 'manual', text: instructions }],
  async run({ instructions }) {
    return { status: 'succeeded', summary: `confirmed by the operator: ${instructions}` };
  },
});

import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { formatMs } from '../report/format.js';
import { defineAction } from './action.js';
import { duration } from './params.js';

const params = z.object({ duration, reason: z.string().optional() }).strict();
type Params = z.output<typeof params>;

/** A pause, such as letting metrics settle. Ctrl-C stops it at once; nothing is left half-done. */
export const wait = defineAction<Params>({
  name: 'wait',
  description: 'Wait for a duration (for example to let metrics settle); Ctrl-C stops the wait safely.',
  rehearsal: 'print',
  confirm: false,
  params,
  describe: ({ duration: ms, reason }) => [{ kind: 'wait', text: `wait ${formatMs(ms)}${reason ? ` (${reason})` : ''}` }],
  async run({ duration: ms }, ctx) {
    try {
      await sleep(ms, undefined, { signal: ctx.signal });
    } catch {
      return { status: 'skipped', summary: 'wait cut short by an interruption' };
    }
    return { status: 'succeeded', summary: `waited ${formatMs(ms)}` };
  },
});

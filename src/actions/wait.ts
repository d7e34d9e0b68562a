import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
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

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { banisterAverage, roundTrimp, type Sex, TrimpInputError } from '../trimp/banister.js';
import { banisterStream } from '../trimp/stream.js';
import type { FaultState } from './faults.js';
import { HttpError, type Reply, type Route } from './http.js';
import type { AppLogs } from './logs.js';
import type { Release } from './release.js';
import type { SandboxStore, UserRow } from './store.js';

interface TrimpBody {
  user_id?: unknown;
  duration_minutes?: unknown;
  avg_hr?: unknown;
  hr_stream?: unknown;
  resting_hr?: unknown;
  max_hr?: unknown;
  gender?: unknown;
  date?: unknown;
}

export interface UserRouteContext {
  store: SandboxStore;
  logs: AppLogs;
  faults: () => FaultState;
  release: Release;
}

/** The user-facing side: calculate TRIMP, and sync (store) a new activity. */
export function userRoutes(ctx: UserRouteContext): Route[] {
  /** Both endpoints compute TRIMP for a user first; a failed computation answers for itself. */
  const computing =
    (
      then: (b: TrimpBody, user: UserRow, result: { trimp: number; method: 'average' | 'stream' }) => Reply | Promise<Reply>,
    ): Route['handler'] =>
    async ({ body }) => {
      const b = (body ?? {}) as TrimpBody;
      const user = await ctx.store.user(b.user_id);
      const result = await trimpFor(ctx, user, b);
      return { ...('failed' in result ? result.failed : await then(b, user, result)), userType: user.user_type };
    };
  return [
    {
      method: 'POST',
      pattern: /^\/api\/trimp\/calculate$/,
      admin: false,
      handler: computing((_b, _user, result) => ({
        status: 200,
        body: { success: true, trimp: result.trimp, method: result.method },
        calculation: { method: result.method, failed: false },
      })),
    },
    {
      method: 'POST',
      pattern: /^\/api\/activities$/,
      admin: false,
      handler: computing(async (b, user, result) => {
        const activityId = await ctx.store.insertActivity({
          userId: user.id,
          date: typeof b.date === 'string' ? b.date : new Date().toISOString().slice(0, 19).replace('T', ' '),
          durationMin: Number(b.duration_minutes),
          avgHr: Number(b.avg_hr),
          trimp: result.trimp,
          method: result.method,
          stream: Array.isArray(b.hr_stream) ? (b.hr_stream as number[]) : undefined,
        });
        return {
          status: 201,
          body: { success: true, activity_id: activityId, trimp: result.trimp, method: result.method },
          calculation: { method: result.method, failed: false },
        };
      }),
    },
  ];
}

/**
 * TRIMP by the method the flag picks for the user's type, as the public app picks it: the
 * stream method when the flag is on and a stream is present, the average method otherwise.
 */
async function trimpFor(
  ctx: UserRouteContext,
  user: UserRow,
  b: TrimpBody,
): Promise<{ trimp: number; method: 'average' | 'stream' } | { failed: Reply }> {
  const profile = {
    durationMin: Number(b.duration_minutes),
    restingHr: b.resting_hr === undefined ? user.resting_hr : Number(b.resting_hr),
    maxHr: b.max_hr === undefined ? user.max_hr : Number(b.max_hr),
    sex: (b.gender ?? user.gender) as Sex,
  };
  // Release 1.0.0 predates the enhanced method: it computes the average, whatever the flag says.
  const enhanced =
    ctx.release.enhanced_trimp !== false &&
    ((await ctx.store.flags()).enhanced_trimp_calculation?.[user.user_type] ?? false) &&
    Array.isArray(b.hr_stream) &&
    b.hr_stream.length > 0;
  const faults = ctx.faults();
  try {
    let method: 'average' | 'stream' = 'average';
    let trimp: number;
    if (enhanced) {
      if (faults.slow) await sleep(faults.slow.ms * (0.8 + Math.random() * 0.4));
      const errors = faults['trimp-errors'];
      if (errors && (errors.user_types?.includes(user.user_type) ?? true) && Math.random() < errors.share) {
        throw new Error('enhanced TRIMP calculation raised an exception (injected fault trimp-errors)');
      }
      // As the app does: the method is "stream" whenever the stream was used, even when the
      // stream's own guards fell back to the average formula or rejected it (0.0).
      const outcome = banisterStream({ ...profile, hr: b.hr_stream as unknown[] });
      method = 'stream';
      trimp = outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp;
    } else {
      trimp = banisterAverage({ ...profile, avgHr: Number(b.avg_hr) });
    }
    // A defective release computes the wrong number (the bad-deploy fault with defect "trimp").
    if (ctx.release.defect === 'trimp') trimp *= 0.5;
    const rounded = roundTrimp(trimp);
    ctx.logs.calculation(`user_id=${user.id} user_type=${user.user_type} method=${method} trimp=${rounded}`);
    return { trimp: rounded, method };
  } catch (error) {
    const method = enhanced ? 'stream' : 'average';
    if (error instanceof TrimpInputError) {
      ctx.logs.error(`TRIMP calculation rejected: user_id=${user.id} method=${method} reason="${error.message}"`);
      throw new HttpError(400, error.message);
    }
    ctx.logs.error(
      `TRIMP calculation failed: user_id=${user.id} user_type=${user.user_type} method=${method} reason="${error instanceof Error ? error.message : String(error)}"`,
    );
    return { failed: { status: 500, body: { error: 'Internal server error' }, calculation: { method, failed: true } } };
  }
}

import type { AdminApi } from '../target/admin-api.js';
import { banisterAverage, roundTrimp } from '../trimp/banister.js';
import { banisterStream } from '../trimp/stream.js';

/**
 * A reference request whose stream and average answers differ, so that the method the app
 * picked is visible in the number as well as in the `method` field.
 */
export const REFERENCE_REQUEST = {
  duration_minutes: 60,
  avg_hr: 150,
  resting_hr: 50,
  max_hr: 180,
  gender: 'male' as const,
  hr_stream: Array.from({ length: 60 }, (_, i) => [130, 140, 150, 160, 170][i % 5] as number),
};

export const TRIMP_TOLERANCE = 0.01;

export function expectedReferenceTrimp(method: 'average' | 'stream'): number {
  const profile = { restingHr: 50, maxHr: 180, sex: 'male' as const, durationMin: 60 };
  if (method === 'average') return roundTrimp(banisterAverage({ ...profile, avgHr: REFERENCE_REQUEST.avg_hr }));
  const outcome = banisterStream({ ...profile, hr: REFERENCE_REQUEST.hr_stream });
  if (outcome.kind === 'rejected') throw new Error('reference stream rejected'); // cannot happen: the stream is valid
  return roundTrimp(outcome.trimp);
}

export interface AppTrimpAnswer {
  userId: number;
  expectedMethod: 'average' | 'stream';
  method: unknown;
  trimp: unknown;
  expectedTrimp: number;
  ok: boolean;
  problem?: string;
}

/** Asks the app to calculate TRIMP for a user and checks the answer, the method and the value. */
export async function checkAppTrimp(api: AdminApi, userId: number, flagEnabled: boolean): Promise<AppTrimpAnswer> {
  const expectedMethod = flagEnabled ? 'stream' : 'average';
  const expectedTrimp = expectedReferenceTrimp(expectedMethod);
  const response = await api.post('api/trimp/calculate', { user_id: userId, ...REFERENCE_REQUEST });
  const body = (response.body ?? {}) as { trimp?: unknown; method?: unknown };
  const base = { userId, expectedMethod, method: body.method, trimp: body.trimp, expectedTrimp } as const;
  if (response.status !== 200) {
    return {
      ...base,
      method: undefined,
      trimp: undefined,
      ok: false,
      problem: `user ${userId}: the calculation answered HTTP ${response.status}`,
    };
  }
  if (body.method !== expectedMethod) {
    return { ...base, ok: false, problem: `user ${userId}: the app used the ${String(body.method)} method, expected ${expectedMethod}` };
  }
  if (typeof body.trimp !== 'number' || Math.abs(body.trimp - expectedTrimp) > TRIMP_TOLERANCE) {
    return {
      ...base,
      ok: false,
      problem: `user ${userId}: the app answered TRIMP ${String(body.trimp)}, expected ${expectedTrimp} ± ${TRIMP_TOLERANCE}`,
    };
  }
  return { ...base, ok: true };
}

/** Several calculations for one user: a fault that hits a share of requests shows in a sample. */
export async function sampleAppTrimp(api: AdminApi, userId: number, flagEnabled: boolean, samples: number): Promise<AppTrimpAnswer[]> {
  return Promise.all(Array.from({ length: samples }, () => checkAppTrimp(api, userId, flagEnabled)));
}

/**
 * The "enhanced" method, exactly as the public app computes it (its `_validate_hr_stream_data`
 * and `_calculate_trimp_from_stream`), because a stored value is only wrong if it differs from
 * what the app would store:
 *
 * 1. The stream is rejected, and the app stores 0.0 (no fallback), when the duration is <= 0 or
 *    > 1440 min, resting HR is outside 30-100 or max HR outside 120-250, no sample is plausible
 *    (30-250 bpm), more than 80 % are not, or the mean of the plausible ones is below 0.8 x
 *    resting or above 1.1 x max.
 * 2. The moving time is split evenly over *all* N samples: each is D/N minutes.
 * 3. The sum skips samples <= 0 (they still count in N); every other sample is used, its heart
 *    rate reserve clamped to 0..1, so samples of 1-29 or above 250 bpm count, clamped.
 * 4. When fewer than half the samples are > 0, the app falls back to the average formula with
 *    the mean of those samples over the full duration.
 *
 * A sample that is not a number makes the app's loop raise, and it stores 0.0. (Booleans are
 * numbers to the app, 1 and 0. NaN cannot come from JSON and is treated as not a number.)
 */
import {
  banisterAverage,
  banisterConstants,
  banisterWeight,
  type ConstantsName,
  type HeartRateProfile,
  heartRateReserve,
  TrimpInputError,
  verifyProfile,
} from './banister.js';

export const PLAUSIBLE_HR = { min: 30, max: 250 } as const;
export const APP_RESTING_HR = { min: 30, max: 100 } as const;
export const APP_MAX_HR = { min: 120, max: 250 } as const;
export const APP_MAX_DURATION_MIN = 1440;
const REJECT_IMPLAUSIBLE_SHARE = 0.8;
const FALLBACK_USED_SHARE = 0.5;

export type StreamOutcome =
  | { kind: 'stream'; trimp: number; usedSamples: number; totalSamples: number }
  | { kind: 'average-fallback'; trimp: number; usedSamples: number; totalSamples: number; avgHr: number }
  | { kind: 'rejected'; appValue: 0; totalSamples: number; reason: string };

/** A sample the app's validation counts as plausible: a number from 30 to 250 bpm. */
export function isPlausibleSample(hr: unknown): boolean {
  const value = asNumber(hr);
  return value !== undefined && value >= PLAUSIBLE_HR.min && value <= PLAUSIBLE_HR.max;
}

export function banisterStream(
  input: { durationMin: number; hr: readonly unknown[] } & HeartRateProfile,
  constants: ConstantsName = 'app',
): StreamOutcome {
  verifyProfile(input);
  if (!Array.isArray(input.hr) || input.hr.length === 0) throw new TrimpInputError('the heart-rate stream is empty');
  const total = input.hr.length;
  const reject = (reason: string): StreamOutcome => ({ kind: 'rejected', appValue: 0, totalSamples: total, reason });

  const d = input.durationMin;
  if (!Number.isFinite(d) || d <= 0 || d > APP_MAX_DURATION_MIN)
    return reject(`duration ${d} min is outside (0, ${APP_MAX_DURATION_MIN}]; the app stores 0.0`);
  if (input.restingHr < APP_RESTING_HR.min || input.restingHr > APP_RESTING_HR.max)
    return reject(`resting heart rate ${input.restingHr} is outside ${APP_RESTING_HR.min}-${APP_RESTING_HR.max}; the app stores 0.0`);
  if (input.maxHr < APP_MAX_HR.min || input.maxHr > APP_MAX_HR.max)
    return reject(`max heart rate ${input.maxHr} is outside ${APP_MAX_HR.min}-${APP_MAX_HR.max}; the app stores 0.0`);

  const plausible = input.hr.filter(isPlausibleSample).map((hr) => asNumber(hr) as number);
  const implausible = total - plausible.length;
  if (plausible.length === 0) return reject(`none of the ${total} samples is a heart rate of 30-250 bpm; the app stores 0.0`);
  if (implausible > total * REJECT_IMPLAUSIBLE_SHARE)
    return reject(`${implausible} of ${total} samples are invalid (more than 80%); the app stores 0.0 for such a stream`);
  const mean = plausible.reduce((sum, hr) => sum + hr, 0) / plausible.length;
  if (mean < 0.8 * input.restingHr || mean > 1.1 * input.maxHr)
    return reject(`the mean of the plausible samples (${mean.toFixed(1)}) is implausible for this athlete; the app stores 0.0`);
  const numbers = input.hr.map(asNumber);
  if (numbers.some((hr) => hr === undefined)) return reject('a sample is not a number (the app fails on it and stores 0.0)');

  const k = banisterConstants(input.sex, constants);
  const minutesPerSample = d / total;
  let trimp = 0;
  let used = 0;
  let usedSum = 0;
  for (const hr of numbers as number[]) {
    if (hr <= 0) continue;
    trimp += minutesPerSample * banisterWeight(heartRateReserve(hr, input), k);
    used += 1;
    usedSum += hr;
  }
  if (used < total * FALLBACK_USED_SHARE) {
    const avgHr = usedSum / used;
    return {
      kind: 'average-fallback',
      trimp: banisterAverage({ ...input, avgHr }, constants),
      usedSamples: used,
      totalSamples: total,
      avgHr,
    };
  }
  return { kind: 'stream', trimp, usedSamples: used, totalSamples: total };
}

/** A sample as the app's Python sees it: numbers and booleans are numbers; nothing else is. */
function asNumber(hr: unknown): number | undefined {
  if (typeof hr === 'boolean') return hr ? 1 : 0;
  if (typeof hr === 'number' && !Number.isNaN(hr)) return hr;
  return undefined;
}

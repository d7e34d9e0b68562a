/**
 * The "enhanced" method: TRIMP summed per heart-rate sample. The public app splits the moving
 * time evenly over the samples; samples outside a plausible range are invalid. Its guards:
 *   - more than 80 % invalid samples: the stream is rejected (the app stores 0.0);
 *   - fewer than 50 % valid samples: fall back to the average method with the mean of the
 *     valid samples over the full duration.
 * Invalid samples carry no time of their own: the moving time is split over the valid ones.
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
const REJECT_INVALID_SHARE = 0.8;
const FALLBACK_VALID_SHARE = 0.5;

export type StreamOutcome =
  | { kind: 'stream'; trimp: number; validSamples: number; totalSamples: number }
  | { kind: 'average-fallback'; trimp: number; validSamples: number; totalSamples: number; avgHr: number }
  | { kind: 'rejected'; appValue: 0; validSamples: number; totalSamples: number; reason: string };

export function isValidSample(hr: unknown): hr is number {
  return typeof hr === 'number' && Number.isFinite(hr) && hr >= PLAUSIBLE_HR.min && hr <= PLAUSIBLE_HR.max;
}

export function banisterStream(
  input: { durationMin: number; hr: readonly unknown[] } & HeartRateProfile,
  constants: ConstantsName = 'app',
): StreamOutcome {
  verifyProfile(input);
  if (!Number.isFinite(input.durationMin) || input.durationMin < 0) {
    throw new TrimpInputError(`duration must be zero or more minutes, not ${input.durationMin}`);
  }
  if (!Array.isArray(input.hr) || input.hr.length === 0) throw new TrimpInputError('the heart-rate stream is empty');

  const valid = input.hr.filter(isValidSample);
  const total = input.hr.length;
  const invalidShare = (total - valid.length) / total;
  if (invalidShare > REJECT_INVALID_SHARE) {
    return {
      kind: 'rejected',
      appValue: 0,
      validSamples: valid.length,
      totalSamples: total,
      reason: `${total - valid.length} of ${total} samples are invalid (more than 80%); the app stores 0.0 for such a stream`,
    };
  }
  if (valid.length / total < FALLBACK_VALID_SHARE) {
    const avgHr = valid.reduce((sum, hr) => sum + hr, 0) / valid.length;
    const trimp = banisterAverage({ ...input, avgHr }, constants);
    return { kind: 'average-fallback', trimp, validSamples: valid.length, totalSamples: total, avgHr };
  }

  const k = banisterConstants(input.sex, constants);
  const minutesPerSample = input.durationMin / valid.length;
  let trimp = 0;
  for (const hr of valid) trimp += minutesPerSample * banisterWeight(heartRateReserve(hr, input as HeartRateProfile), k);
  return { kind: 'stream', trimp, validSamples: valid.length, totalSamples: total };
}

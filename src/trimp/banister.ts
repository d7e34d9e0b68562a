/**
 * Banister TRIMP, as the public app computes it.
 *
 *   TRIMP = D_min · x · a · e^(b·x),  x = clamp((HR − HR_rest) / (HR_max − HR_rest), 0, 1)
 *
 * The app uses a = 0.64 for both sexes (b = 1.92 male, 1.67 female); the literature's female
 * prefactor is 0.86. Impossible inputs are errors, never a silent 0.
 */
export type Sex = 'male' | 'female';
export type ConstantsName = 'app' | 'literature';

export interface HeartRateProfile {
  restingHr: number;
  maxHr: number;
  sex: Sex;
}

export interface BanisterConstants {
  a: number;
  b: number;
}

export class TrimpInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrimpInputError';
  }
}

export function banisterConstants(sex: Sex, constants: ConstantsName = 'app'): BanisterConstants {
  if (sex === 'male') return { a: 0.64, b: 1.92 };
  return { a: constants === 'literature' ? 0.86 : 0.64, b: 1.67 };
}

export function verifyProfile(profile: HeartRateProfile): void {
  const { restingHr, maxHr, sex } = profile;
  if (sex !== 'male' && sex !== 'female') throw new TrimpInputError(`sex must be male or female, not "${String(sex)}"`);
  if (!isFinitePositive(restingHr)) throw new TrimpInputError(`resting heart rate must be a positive number, not ${restingHr}`);
  if (!isFinitePositive(maxHr)) throw new TrimpInputError(`max heart rate must be a positive number, not ${maxHr}`);
  if (maxHr <= restingHr) {
    throw new TrimpInputError(`max heart rate (${maxHr}) must be above resting heart rate (${restingHr})`);
  }
}

/** Heart-rate reserve fraction, clamped to [0, 1] as the app does. */
export function heartRateReserve(hr: number, profile: HeartRateProfile): number {
  const x = (hr - profile.restingHr) / (profile.maxHr - profile.restingHr);
  return Math.min(1, Math.max(0, x));
}

export function banisterWeight(x: number, k: BanisterConstants): number {
  return x * k.a * Math.exp(k.b * x);
}

/** The original ("average") method: one average heart rate over the whole duration. */
export function banisterAverage(
  input: { durationMin: number; avgHr: number } & HeartRateProfile,
  constants: ConstantsName = 'app',
): number {
  verifyProfile(input);
  if (!Number.isFinite(input.durationMin) || input.durationMin < 0) {
    throw new TrimpInputError(`duration must be zero or more minutes, not ${input.durationMin}`);
  }
  if (!isFinitePositive(input.avgHr)) throw new TrimpInputError(`average heart rate must be a positive number, not ${input.avgHr}`);
  const k = banisterConstants(input.sex, constants);
  return input.durationMin * banisterWeight(heartRateReserve(input.avgHr, input), k);
}

/** The app rounds stored and returned TRIMP to two decimals. */
export function roundTrimp(value: number): number {
  return Math.round(value * 100) / 100;
}

function isFinitePositive(n: number): boolean {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

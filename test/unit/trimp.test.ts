import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { banisterAverage, roundTrimp, TrimpInputError } from '../../src/trimp/banister.js';
import { REFERENCE_VECTORS } from '../../src/trimp/reference-vectors.js';
import { banisterStream } from '../../src/trimp/stream.js';

interface Vector {
  id: string;
  kind: string;
  inputs: Record<string, unknown>;
  expected: number | Record<string, number>;
  app_output_2dp: number;
}

const vectors = JSON.parse(readFileSync(new URL('../fixtures/trimp-vectors.json', import.meta.url), 'utf8')) as Vector[];
const profileOf = (inputs: Record<string, unknown>) => ({
  durationMin: inputs.duration_min as number,
  restingHr: inputs.resting_hr as number,
  maxHr: inputs.max_hr as number,
  sex: inputs.sex as 'male' | 'female',
});

/** The vectors describe some streams in words ("[120,...] x12", "600 x 150"); expand them. */
function streamOf(hr: unknown): (number | null)[] {
  if (Array.isArray(hr)) return hr as (number | null)[];
  const text = String(hr);
  const repeated = /^\[([\d,]+)\] x(\d+)/.exec(text);
  if (repeated) return Array.from({ length: Number(repeated[2]) }, () => repeated[1]!.split(',').map(Number)).flat();
  const constant = /^(\d+) x (\d+)/.exec(text);
  if (constant) return Array.from({ length: Number(constant[1]) }, () => Number(constant[2]));
  throw new Error(`cannot read stream ${text}`);
}

describe('TRIMP reference vectors (../shared/trimp-vectors.json)', () => {
  const banister = vectors.filter((v) => v.kind.startsWith('banister'));
  it('covers the average and stream vectors', () => {
    expect(banister.length).toBeGreaterThanOrEqual(12);
  });

  for (const v of banister.filter((x) => x.kind === 'banister_average')) {
    it(`${v.id}: average method`, () => {
      const input = { ...profileOf(v.inputs), avgHr: v.inputs.avg_hr as number };
      if (typeof v.expected === 'number') {
        expect(banisterAverage(input)).toBeCloseTo(v.expected, 3);
      } else {
        expect(banisterAverage(input, 'app')).toBeCloseTo(v.expected['app_0.64'] as number, 3);
        expect(banisterAverage(input, 'literature')).toBeCloseTo(v.expected['literature_0.86'] as number, 3);
      }
      expect(roundTrimp(banisterAverage(input))).toBe(v.app_output_2dp);
    });
  }

  for (const v of banister.filter((x) => x.kind !== 'banister_average')) {
    it(`${v.id}: stream method`, () => {
      const outcome = banisterStream({ ...profileOf(v.inputs), hr: streamOf(v.inputs.hr) });
      if (outcome.kind === 'rejected') {
        expect(v.expected).toBe(0);
        expect(outcome.appValue).toBe(0);
        expect(outcome.reason).toMatch(/more than 80%/);
        return;
      }
      expect(outcome.trimp).toBeCloseTo(v.expected as number, 3);
      expect(roundTrimp(outcome.trimp)).toBe(v.app_output_2dp);
    });
  }

  it('S05 falls back to the average method, S01 stays on the stream method', () => {
    const s05 = vectors.find((v) => v.id === 'S05-low-coverage-fallback')!;
    expect(banisterStream({ ...profileOf(s05.inputs), hr: streamOf(s05.inputs.hr) }).kind).toBe('average-fallback');
    const s01 = vectors.find((v) => v.id === 'S01-monitor-sample')!;
    expect(banisterStream({ ...profileOf(s01.inputs), hr: streamOf(s01.inputs.hr) }).kind).toBe('stream');
  });
});

describe('TRIMP input validation', () => {
  const ok = { durationMin: 60, avgHr: 150, restingHr: 50, maxHr: 180, sex: 'male' as const };
  it('gives the seed example 129.36 ± 0.01', () => {
    expect(Math.abs(banisterAverage(ok) - 129.36)).toBeLessThanOrEqual(0.01);
  });
  it.each([
    ['negative duration', { durationMin: -1 }, /duration/],
    ['max below resting', { maxHr: 40 }, /max heart rate/],
    ['max equal to resting', { maxHr: 50 }, /must be above/],
    ['zero average heart rate', { avgHr: 0 }, /average heart rate/],
    ['not a number', { avgHr: Number.NaN }, /average heart rate/],
    ['unknown sex', { sex: 'x' }, /sex/],
  ])('refuses %s with an error, not 0', (_name, change, message) => {
    expect(() => banisterAverage({ ...ok, ...change } as typeof ok)).toThrow(TrimpInputError);
    expect(() => banisterAverage({ ...ok, ...change } as typeof ok)).toThrow(message);
  });
  it('refuses an empty stream', () => {
    expect(() => banisterStream({ ...ok, hr: [] })).toThrow(/empty/);
  });
});

interface AppStreamVector {
  id: string;
  inputs: { hr: (number | null)[]; duration_min: number; resting_hr: number; max_hr: number; sex: 'male' | 'female' };
  app_output_2dp: number;
  over_valid_samples_only?: number;
}
const appStream = (
  JSON.parse(readFileSync(new URL('../fixtures/trimp-vectors-app-stream.json', import.meta.url), 'utf8')) as {
    vectors: AppStreamVector[];
  }
).vectors;

describe('the stream method as the public app computes it (hand-computed vectors, dropouts and out-of-range samples)', () => {
  for (const v of appStream) {
    it(`${v.id}: ${v.app_output_2dp}`, () => {
      const outcome = banisterStream({ ...profileOf(v.inputs), hr: v.inputs.hr });
      const value = outcome.kind === 'rejected' ? outcome.appValue : outcome.trimp;
      expect(roundTrimp(value)).toBe(v.app_output_2dp);
      // The vectors were chosen where the stricter reading (time over valid samples only) differs.
      if (v.over_valid_samples_only !== undefined) expect(roundTrimp(value)).not.toBe(v.over_valid_samples_only);
    });
  }

  it('dropouts keep their share of the time: 8 of 10 samples at 150 bpm over 10 min is 8/10 of the constant stream', () => {
    const full = banisterStream({ durationMin: 10, restingHr: 50, maxHr: 180, sex: 'male', hr: Array(10).fill(150) });
    const gaps = banisterStream({ durationMin: 10, restingHr: 50, maxHr: 180, sex: 'male', hr: [0, ...Array(8).fill(150), 0] });
    expect(full.kind).toBe('stream');
    expect(gaps.kind).toBe('stream');
    if (full.kind === 'stream' && gaps.kind === 'stream') expect(gaps.trimp).toBeCloseTo(full.trimp * 0.8, 10);
  });
});

describe('REFERENCE_VECTORS (re-checked by validation at run time) match their fixtures', () => {
  const shared = vectors.map((v) => ({ id: v.id, inputs: v.inputs, app_output_2dp: v.app_output_2dp }));
  const fixtures = new Map([...shared, ...appStream].map((v) => [v.id, v]));

  it('every vector exists in a fixture file with the same inputs and output', () => {
    expect(REFERENCE_VECTORS.length).toBeGreaterThanOrEqual(15);
    for (const v of REFERENCE_VECTORS) {
      const fixture = fixtures.get(v.id);
      expect(fixture, v.id).toBeDefined();
      expect(v.app_output_2dp, v.id).toBe(fixture?.app_output_2dp);
      const inputs = fixture?.inputs as Record<string, unknown>;
      for (const key of ['duration_min', 'resting_hr', 'max_hr', 'sex', 'avg_hr'] as const)
        expect(v.inputs[key], `${v.id} ${key}`).toEqual(inputs[key]);
      if (v.inputs.hr !== undefined) expect(v.inputs.hr, v.id).toEqual(streamOf(inputs.hr));
    }
  });

  it('includes hand-computed streams with dropouts', () => {
    expect(REFERENCE_VECTORS.map((v) => v.id)).toEqual(
      expect.arrayContaining(['A01-dropouts', 'A02-out-of-range-clamped', 'A04-female-dropouts']),
    );
  });
});

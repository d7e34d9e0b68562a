/**
 * The reference vectors that the validation re-checks at run time: those of
 * ../shared/trimp-vectors.json (copied to test/fixtures/trimp-vectors.json) whose inputs are
 * complete numbers, and hand-computed app-stream vectors (test/fixtures/trimp-vectors-app-stream.json).
 * test/unit/trimp.test.ts checks that every entry here agrees with its fixture.
 */
export interface ReferenceVector {
  id: string;
  kind: 'banister_average' | 'banister_stream' | 'banister_stream_app';
  inputs: { duration_min: number; resting_hr: number; max_hr: number; sex: 'male' | 'female'; avg_hr?: number; hr?: (number | null)[] };
  app_output_2dp: number;
}

export const REFERENCE_VECTORS: ReferenceVector[] = [
  {
    id: 'B01-seed',
    kind: 'banister_average',
    inputs: {
      duration_min: 60,
      avg_hr: 150,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 129.36,
  },
  {
    id: 'B02-seed-female',
    kind: 'banister_average',
    inputs: {
      duration_min: 60,
      avg_hr: 150,
      resting_hr: 50,
      max_hr: 180,
      sex: 'female',
    },
    app_output_2dp: 106.73,
  },
  {
    id: 'B03-fellrnr',
    kind: 'banister_average',
    inputs: {
      duration_min: 30,
      avg_hr: 130,
      resting_hr: 40,
      max_hr: 200,
      sex: 'male',
    },
    app_output_2dp: 31.8,
  },
  {
    id: 'B07-hr-equals-rest',
    kind: 'banister_average',
    inputs: {
      duration_min: 60,
      avg_hr: 50,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 0.0,
  },
  {
    id: 'B08-hr-below-rest',
    kind: 'banister_average',
    inputs: {
      duration_min: 60,
      avg_hr: 45,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 0.0,
  },
  {
    id: 'B09-hr-equals-max',
    kind: 'banister_average',
    inputs: {
      duration_min: 60,
      avg_hr: 180,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 261.92,
  },
  {
    id: 'B10-hr-above-max',
    kind: 'banister_average',
    inputs: {
      duration_min: 60,
      avg_hr: 190,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 261.92,
  },
  {
    id: 'B11-zero-duration',
    kind: 'banister_average',
    inputs: {
      duration_min: 0,
      avg_hr: 150,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 0.0,
  },
  {
    id: 'S05-low-coverage-fallback',
    kind: 'banister_stream_app',
    inputs: {
      hr: [0, 0, 0, 0, 0, 0, 150, 150, 150, 150],
      duration_min: 10.0,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 21.56,
  },
  {
    id: 'S06-rejected-stream',
    kind: 'banister_stream_app',
    inputs: {
      hr: [0, 0, 0, 0, 0, 0, 0, 0, 0, 150],
      duration_min: 10.0,
      resting_hr: 50,
      max_hr: 180,
      sex: 'male',
    },
    app_output_2dp: 0.0,
  },
  // Hand-computed streams with dropouts and out-of-range samples (test/fixtures/trimp-vectors-app-stream.json).
  {
    id: 'A01-dropouts',
    kind: 'banister_stream_app',
    inputs: { duration_min: 10, resting_hr: 50, max_hr: 180, sex: 'male', hr: [0, 150, 150, 150, 150, 0, 150, 150, 150, 150] },
    app_output_2dp: 17.25,
  },
  {
    id: 'A02-out-of-range-clamped',
    kind: 'banister_stream_app',
    inputs: { duration_min: 10, resting_hr: 50, max_hr: 180, sex: 'male', hr: [150, 150, 150, 20, 300, 150, 150, 260, 25, 150] },
    app_output_2dp: 21.67,
  },
  {
    id: 'A03-fallback-mean-of-positive',
    kind: 'banister_stream_app',
    inputs: { duration_min: 10, resting_hr: 50, max_hr: 180, sex: 'male', hr: [0, 0, 0, 0, 0, 0, 300, 150, 150, 150] },
    app_output_2dp: 43.65,
  },
  {
    id: 'A04-female-dropouts',
    kind: 'banister_stream_app',
    inputs: { duration_min: 47.5, resting_hr: 55, max_hr: 190, sex: 'female', hr: [140, 0, 160, 145, 0, 170, 155, 150, 0, 165, 158, 162] },
    app_output_2dp: 60.62,
  },
  {
    id: 'A05-half-dropouts-no-fallback',
    kind: 'banister_stream_app',
    inputs: { duration_min: 10, resting_hr: 50, max_hr: 180, sex: 'male', hr: [0, 0, 0, 0, 0, 150, 150, 150, 150, 150] },
    app_output_2dp: 10.78,
  },
  {
    id: 'A06-mean-above-1.1-max',
    kind: 'banister_stream_app',
    inputs: { duration_min: 10, resting_hr: 50, max_hr: 200, sex: 'male', hr: [240, 240, 240, 240, 240, 240, 240, 240, 240, 240] },
    app_output_2dp: 0.0,
  },
  {
    id: 'A09-not-a-number-sample',
    kind: 'banister_stream_app',
    inputs: { duration_min: 10, resting_hr: 50, max_hr: 180, sex: 'male', hr: [150, 150, 150, 150, null, 150, 150, 150, 150, 150] },
    app_output_2dp: 0.0,
  },
];

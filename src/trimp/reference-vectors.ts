/**
 * The reference vectors of ../shared/trimp-vectors.json that the validation re-checks at run
 * time (those whose inputs are complete numbers). test/unit/trimp.test.ts checks that this copy
 * agrees with the file.
 */
export interface ReferenceVector {
  id: string;
  kind: 'banister_average' | 'banister_stream' | 'banister_stream_app';
  inputs: { duration_min: number; resting_hr: number; max_hr: number; sex: 'male' | 'female'; avg_hr?: number; hr?: number[] };
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
];

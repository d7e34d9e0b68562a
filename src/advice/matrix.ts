import { join } from 'node:path';
import { z } from 'zod';
import { loadYaml, readSourceFile } from '../config/yaml-file.js';
import { BUILTIN_RUNBOOKS_DIR } from '../runbook/load.js';

/** The seed's Rollback Decision Matrix, kept as data beside the runbooks. */
export const DECISION_MATRIX_FILE = join(BUILTIN_RUNBOOKS_DIR, 'decision-matrix.yaml');

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

const rowSchema = z
  .object({
    issue: z.string().regex(/^[a-z][a-z-]*$/),
    title: z.string().min(1),
    severity: z.enum(SEVERITIES),
    action: z.string().min(1),
    runbook: z.string().min(1),
    command: z.array(z.string().min(1)).min(1),
    time_to_execute: z.string().min(1),
  })
  .strict();

const matrixSchema = z.object({ version: z.literal(1), rows: z.array(rowSchema).min(1) }).strict();

export type MatrixRow = z.output<typeof rowSchema>;

export function loadDecisionMatrix(file = DECISION_MATRIX_FILE): MatrixRow[] {
  return loadYaml(file, readSourceFile(file, 'decision matrix'), matrixSchema).value.rows;
}

import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { ENHANCED_TRIMP_FLAG, type FlagStates, USER_TYPES } from '../target/user-types.js';

export const flagName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'a flag name is lower_snake_case')
  .default(ENHANCED_TRIMP_FLAG);

/** Target states per user type: at least one type. */
export const flagStates = z
  .object({ admin: z.boolean().optional(), beta: z.boolean().optional(), regular: z.boolean().optional() })
  .strict()
  .refine((states) => USER_TYPES.some((type) => states[type] !== undefined), 'name at least one user type')
  .transform((states): FlagStates => states);

/**
 * Whether the step needs the app: with `optional`, an unreachable app is a warning. Unsaid, it
 * follows how the flag is reached: through the database (the app may be down) it is optional.
 */
export const appRequirement = z.enum(['required', 'optional']).optional();

export function appNeed(given: 'required' | 'optional' | undefined, via: 'api' | 'db'): 'required' | 'optional' {
  return given ?? (via === 'db' ? 'optional' : 'required');
}

export const duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as 30s, 5m or 1h')])
  .transform((value) => (typeof value === 'number' ? value * 1000 : parseDuration(value)));

export { parseDuration };

/** A gradual rollback's cohorts, in the order they are rolled back, each once. */
export const stageOrder = z
  .array(z.enum(USER_TYPES))
  .min(1, 'name at least one user type')
  .refine((types) => new Set(types).size === types.length, 'a user type is named twice')
  .default(['regular', 'beta', 'admin']);

/** Which stage of `stages` a step belongs to (1 is the first). */
export const stageNumber = z.number().int().min(1).max(USER_TYPES.length);

/** Why a stage step has nothing to do: the run's stages stop before it. */
export function stageLeftOut(stages: readonly string[], stage: number): string | undefined {
  return stage > stages.length
    ? `stage ${stage} is beyond the ${stages.length} stage${stages.length === 1 ? '' : 's'} asked for (${stages.join(', ')})`
    : undefined;
}

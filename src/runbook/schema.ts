import { z } from 'zod';
import { ACTION_NAMES, ACTIONS } from '../actions/index.js';
import { duration, flagStates } from '../actions/params.js';
import { USER_TYPES } from '../target/user-types.js';

/**
 * Runbook schema, version 1. A runbook is data: metadata from the seed (use case, impact, time
 * budget), typed inputs, and ordered steps, each naming an action and its parameters. A
 * parameter may be a reference to an input, written as the whole value: "${inputs.NAME}".
 */
export const RUNBOOK_SCHEMA_VERSION = 1;
/** More steps than an operator can follow (and confirm) is a generated file gone wrong. */
export const MAX_STEPS = 100;

const INPUT_TYPES = ['string', 'boolean', 'number', 'duration', 'user-types', 'flag-states'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export const inputValueSchemas: Record<InputType, z.ZodType> = {
  string: z.string(),
  boolean: z.boolean(),
  number: z.number(),
  duration,
  'user-types': z.array(z.enum(USER_TYPES)).min(1),
  'flag-states': flagStates,
};

const identifier = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'use lower-case letters, digits, "-" and "_", starting with a letter');

/**
 * `action: runbook` runs another runbook as a stage of this one: its steps are planned in place
 * (ids "<stage>.<step>"), journaled as one run, and its changes confirmed once for the stage.
 * Each input given to it is a value or a reference to an input of this runbook.
 */
export const RUNBOOK_STEP = 'runbook';
export const runbookStepParams = z
  .object({
    runbook: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a built-in runbook id'),
    inputs: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
const STEP_KINDS = [...ACTION_NAMES, RUNBOOK_STEP];

const inputSpec = z
  .object({
    type: z.enum(INPUT_TYPES),
    description: z.string().optional(),
    default: z.unknown().optional(),
  })
  .strict();

const step = z
  .object({
    id: identifier,
    title: z.string().min(1),
    action: z.enum(STEP_KINDS as [string, ...string[]], {
      error: (issue) => `unknown action ${JSON.stringify(issue.input)}; expected one of ${STEP_KINDS.join(', ')}`,
    }),
    description: z.string().optional(),
    /** A step the operator may decline without ending the run (later steps do not need it). */
    optional: z.boolean().optional(),
    with: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const shape = z
  .object({
    version: z.literal(RUNBOOK_SCHEMA_VERSION, { error: `this tool reads runbook schema version ${RUNBOOK_SCHEMA_VERSION}` }),
    id: identifier,
    title: z.string().min(1),
    scenario: z.string().optional(),
    use_case: z.string().min(1),
    impact: z.string().min(1),
    budget: z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as 5m, 15m or 1h'),
    description: z.string().optional(),
    inputs: z.record(identifier, inputSpec).default({}),
    steps: z.array(step).min(1, 'a runbook needs at least one step').max(MAX_STEPS, `a runbook has at most ${MAX_STEPS} steps`),
  })
  .strict();

export const REFERENCE = /^\$\{inputs\.([a-z][a-z0-9_-]*)\}$/;

export const runbookSchema = shape.superRefine((book, ctx) => {
  for (const [name, spec] of Object.entries(book.inputs)) {
    if (spec.default === undefined) continue;
    const result = inputValueSchemas[spec.type].safeParse(spec.default);
    if (!result.success)
      ctx.addIssue({
        code: 'custom',
        path: ['inputs', name, 'default'],
        message: `not a ${spec.type}: ${result.error.issues[0]?.message}`,
      });
  }

  const firstIndex = new Map<string, number>();
  book.steps.forEach((s, index) => {
    const earlier = firstIndex.get(s.id);
    if (earlier !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps', index, 'id'],
        message: `duplicate step id "${s.id}" (first used by steps[${earlier}]); step ids must be unique`,
      });
    } else firstIndex.set(s.id, index);
    checkStepParams(book.inputs, s, index, ctx);
  });
});

export type RunbookDocument = z.output<typeof runbookSchema>;
export type RunbookStep = RunbookDocument['steps'][number];

/** Each parameter: known to the action, a valid value or a reference to a declared input. */
function checkStepParams(inputs: RunbookDocument['inputs'], s: RunbookStep, index: number, ctx: z.RefinementCtx): void {
  if (s.action === RUNBOOK_STEP) {
    checkRunbookStep(inputs, s, index, ctx);
    return;
  }
  const action = ACTIONS[s.action];
  if (!action) return; // already reported as an unknown action
  const params = (action.params as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
  const given = s.with ?? {};
  for (const [key, value] of Object.entries(given)) {
    const path = ['steps', index, 'with', key];
    const param = params[key];
    if (!param) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `action ${s.action} has no parameter "${key}"; it takes ${Object.keys(params).join(', ')}`,
      });
      continue;
    }
    if (typeof value === 'string' && value.includes('${')) {
      const ref = REFERENCE.exec(value);
      if (!ref)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `bad reference ${JSON.stringify(value)}; write the whole value as "\${inputs.NAME}"`,
        });
      else if (!inputs[ref[1] as string]) {
        const declared = Object.keys(inputs);
        ctx.addIssue({
          code: 'custom',
          path,
          message: `reference to undeclared input "${ref[1]}"${declared.length ? `; declared: ${declared.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    const result = param.safeParse(value);
    if (!result.success) ctx.addIssue({ code: 'custom', path, message: result.error.issues[0]?.message ?? 'invalid value' });
  }
  for (const [key, param] of Object.entries(params)) {
    if (!(key in given) && !param.safeParse(undefined).success) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps', index, 'action'],
        message: `action ${s.action} needs parameter "${key}" under "with"`,
      });
    }
  }
}

/** A stage's runbook id, and each input given to it: a value, or a reference to a declared input. */
function checkRunbookStep(inputs: RunbookDocument['inputs'], s: RunbookStep, index: number, ctx: z.RefinementCtx): void {
  const parsed = runbookStepParams.safeParse(s.with ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    ctx.addIssue({
      code: 'custom',
      path: ['steps', index, 'with', ...(issue?.path ?? [])].map(String),
      message: issue?.message ?? 'invalid',
    });
    return;
  }
  for (const [key, value] of Object.entries(parsed.data.inputs)) {
    if (typeof value !== 'string' || !value.includes('${')) continue;
    const ref = REFERENCE.exec(value);
    if (!ref || !inputs[ref[1] as string])
      ctx.addIssue({
        code: 'custom',
        path: ['steps', index, 'with', 'inputs', key],
        message: ref
          ? `reference to undeclared input "${ref[1]}"`
          : `bad reference ${JSON.stringify(value)}; write the whole value as "\${inputs.NAME}"`,
      });
  }
}

/** The JSON Schema of runbook files, for editors (YAML language servers read it). */
export function runbookJsonSchema(): unknown {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://trimp-rollback.invalid/schema/runbook-v1.json',
    title: 'trimp-rollback runbook (schema version 1)',
    ...(z.toJSONSchema(shape, { io: 'input', unrepresentable: 'any' }) as object),
  };
}

import { z } from 'zod';

/**
 * The journal's events, validated on read like runbooks: a journal is evidence after a crash,
 * and a command that acts on it must not act on a malformed one. The schemas are built on first
 * use: a run that never reads a journal back does not pay for them.
 */
function build() {
  const text = z.string().max(100_000);
  const count = z.number().int().nonnegative();
  const millis = z.number().nonnegative();

  /** Where a run acts: journaled at its start, so that resume and restore act on the same system. */
  const journaledTarget = z.object({
    base_url: z.string(),
    /** Every instance, when there are several (older journals: only base_url). */
    instances: z.array(z.string()).optional(),
    database: z.string(),
    app_dir: z.string().optional(),
    logs_dir: z.string().optional(),
    /** Where the admin token came from (a description, never the value). */
    token_source: z.string().nullable().optional(),
    /** The token file, when the token came from one: resume reads it again. */
    token_file: z.string().nullable().optional(),
    /** Older journals held the redacted token itself here. */
    token: z.unknown().optional(),
    /** Which app it is (target.profile), when not the seed's: resume speaks to it the same way. */
    profile: z.string().optional(),
  });

  /** How the run was invoked, so that printed commands (resume, undo) repeat it completely. */
  const invocation = z.object({
    config: z.string().nullable(),
    state_dir: z.string().nullable(),
    token_file: z.string().nullable(),
    base_url: z.string().nullable(),
    database: z.string().nullable(),
    via: z.string(),
    yes: z.boolean(),
  });

  const eventSchema = z.discriminatedUnion('type', [
    z.object({
      type: z.literal('run.started'),
      run_id: text,
      runbook: z.object({ id: text, file: text, hash: text }),
      operator: text,
      reason: text.nullable(),
      pid: count,
      dry_run: z.literal(false),
      via: text,
      inputs: z.record(z.string(), z.unknown()),
      target: journaledTarget,
      config_file: text.nullable(),
      state_dir: text.optional(),
      invocation: invocation.optional(),
    }),
    z.object({
      type: z.literal('run.resumed'),
      run_id: text,
      attempt: count,
      operator: text,
      reason: text.nullable(),
      pid: count,
      target: journaledTarget.optional(),
      invocation: invocation.optional(),
    }),
    z.object({ type: z.literal('run.retargeted'), from: journaledTarget, to: journaledTarget, reason: text }),
    z.object({ type: z.literal('lock.taken_over'), previous: z.unknown(), reason: text, lock: text.optional() }),
    z.object({ type: z.literal('step.started'), step: text, index: count, action: text, params: z.unknown(), attempt: count }),
    z.object({ type: z.literal('step.rechecked'), step: text, done: z.boolean(), summary: text, evidence: z.unknown().optional() }),
    z.object({ type: z.literal('step.observed'), step: text, name: text, data: z.unknown() }),
    z.object({
      type: z.literal('step.finished'),
      step: text,
      status: text,
      summary: text,
      duration_ms: millis,
      evidence: z.unknown().optional(),
      warnings: z.array(text).optional(),
      /** The step decided that the steps after it are not needed (a gradual rollback recovered). */
      ends_run: text.optional(),
      /** A changing step that found nothing to change: it did not act. */
      noop: z.boolean().optional(),
    }),
    z.object({ type: z.literal('step.declined'), step: text, answer: text, optional: z.boolean().optional() }),
    z.object({ type: z.literal('run.interrupted'), step: text.nullable(), duration_ms: millis, hard: z.boolean().optional() }),
    z.object({ type: z.literal('run.finished'), status: text, duration_ms: millis }),
    z.object({ type: z.literal('run.escalated'), level: count, team: text, after_ms: millis, contacts: z.array(text) }),
    /** A channel that did not take a notification after its retries (it never fails the run). */
    z.object({ type: z.literal('notify.failed'), channel: text, kind: text, error: text }),
    /** Written on a fresh line when a run continues after a torn last line, naming that line. */
    z.object({ type: z.literal('journal.repaired'), torn_line: count, bytes: count }),
  ]);

  const stampedEventSchema = z.intersection(z.object({ ts: z.iso.datetime() }), eventSchema);
  return { journaledTarget, invocation, eventSchema, stampedEventSchema };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;
export function journalSchemas(): Schemas {
  built ??= build();
  return built;
}

export type JournaledTarget = z.output<Schemas['journaledTarget']>;
export type Invocation = z.output<Schemas['invocation']>;
export type StampedEvent = z.output<Schemas['eventSchema']> & { ts: string };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type JournalEvent = DistributiveOmit<StampedEvent, 'ts'>;
export type EventOf<T extends StampedEvent['type']> = Extract<StampedEvent, { type: T }>;

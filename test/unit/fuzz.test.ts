import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { readJournal } from '../../src/engine/journal.js';
import { isTrimpError } from '../../src/errors.js';
import { lintRunbookFile, loadRunbook } from '../../src/runbook/load.js';
import { recordCases } from '../helpers/reliability.js';

/**
 * Whatever the input, the readers answer with a value or a TrimpError (one line, an exit code):
 * never a TypeError, a RangeError or a stack trace.
 */
const scratch = mkdtempSync(join(tmpdir(), 'trimp-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

function expectOnlyTrimpErrors(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    if (!isTrimpError(error)) throw error;
    expect(error.message).not.toMatch(/\n/);
  }
}

/** Runs per property: 400 in the suite; `npm run test:reliability` asks for more (TRIMP_FUZZ_RUNS). */
const RUNS = Number(process.env.TRIMP_FUZZ_RUNS ?? 400);

/**
 * fc.assert with a seed it states: a property that fails names the seed that replays it
 * (TRIMP_FUZZ_SEED), and the reliability table counts every case generated.
 */
const SEED = Number(process.env.TRIMP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
let generated = 0;
const failed: string[] = [];
function fuzz<T>(property: fc.IPropertyWithHooks<T> | fc.IProperty<T>, params: { numRuns: number }): void {
  generated += params.numRuns;
  try {
    fc.assert(property as fc.IProperty<T>, { ...params, seed: SEED });
  } catch (error) {
    failed.push(`${expect.getState().currentTestName ?? 'a property'}: seed ${SEED}`);
    throw error;
  }
}
afterAll(() =>
  recordCases({ family: 'fuzz', part: 'journal, config and runbook readers', cases: generated, held: generated - failed.length, failed }),
);

/** A real journal of a finished run (the shape the tool writes), to cut and damage. */
const JOURNAL = readFileSync(new URL('../fixtures/journal-finished.jsonl', import.meta.url), 'utf8');

describe('the journal reader', () => {
  it('reads any prefix of a valid journal (a crash mid-write) without error', () => {
    const bytes = Buffer.from(JOURNAL);
    fuzz(
      fc.property(fc.integer({ min: 0, max: bytes.length }), (cut) => {
        const { events } = readJournal(file('prefix.jsonl', bytes.subarray(0, cut)));
        expect(events.length).toBeLessThanOrEqual(JOURNAL.trim().split('\n').length);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers random bytes with events or a TrimpError', () => {
    fuzz(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expectOnlyTrimpErrors(() => readJournal(file('bytes.jsonl', bytes)));
      }),
      { numRuns: RUNS },
    );
  });

  it('answers random JSON values as events with events or a TrimpError', () => {
    const event = fc.oneof(
      fc.jsonValue(),
      fc.record({ ts: fc.oneof(fc.string(), fc.constant(new Date().toISOString())), type: fc.string() }),
      fc.record({
        ts: fc.constant(new Date().toISOString()),
        type: fc.constantFrom('run.started', 'step.started', 'step.finished', 'run.finished', 'journal.repaired', 'step.observed'),
        step: fc.anything(),
        runbook: fc.anything(),
        status: fc.anything(),
        torn_line: fc.anything(),
      }),
    );
    fuzz(
      fc.property(fc.array(event, { maxLength: 12 }), fc.boolean(), (events, whole) => {
        const text = events.map((e) => JSON.stringify(e) ?? 'undefined').join('\n') + (whole ? '\n' : '');
        expectOnlyTrimpErrors(() => readJournal(file('events.jsonl', text)));
      }),
      { numRuns: RUNS },
    );
  });

  it('one damaged line in the middle of a valid journal is always refused, naming that line', () => {
    const lines = JOURNAL.trimEnd().split('\n');
    fuzz(
      fc.property(fc.integer({ min: 0, max: lines.length - 2 }), fc.string({ minLength: 1 }), (at, junk) => {
        const damaged = [...lines];
        damaged[at] = `${damaged[at]?.slice(0, 10)}${junk}`;
        try {
          readJournal(file('damaged.jsonl', `${damaged.join('\n')}\n`));
          expect.unreachable('a damaged journal was read');
        } catch (error) {
          expect(isTrimpError(error)).toBe(true);
          expect((error as Error).message).toMatch(new RegExp(`:${at + 1}: the journal is damaged`));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('the config and runbook loaders', () => {
  const yamlDocument = fc.oneof(
    fc.string(),
    fc.jsonValue().map((value) => stringify(value)),
    fc
      .record({
        state_dir: fc.anything(),
        target: fc.dictionary(
          fc.constantFrom('base_url', 'database', 'token_file', 'http_timeout_ms', 'sample_users', 'auth', 'x'),
          fc.anything(),
        ),
        validation: fc.dictionary(fc.constantFrom('check_timeout_ms', 'min_requests', 'error_rate_fail', 'y'), fc.anything()),
      })
      .map((value) => stringify(value)),
  );

  it('loads a config file or refuses it with a TrimpError', () => {
    fuzz(
      fc.property(yamlDocument, (text) => {
        const path = file('config.yaml', text);
        expectOnlyTrimpErrors(() => loadConfig({ config: path }, {}, scratch));
      }),
      { numRuns: RUNS },
    );
  });

  const runbookDocument = fc.oneof(
    yamlDocument,
    fc
      .record({
        version: fc.oneof(fc.constant(1), fc.anything()),
        id: fc.oneof(fc.constant('fuzz'), fc.string()),
        title: fc.string(),
        use_case: fc.string(),
        impact: fc.string(),
        budget: fc.oneof(fc.constant('5m'), fc.string()),
        inputs: fc.dictionary(
          fc.string(),
          fc.record({ type: fc.constantFrom('string', 'duration', 'flag-states', 'x'), default: fc.anything() }),
        ),
        steps: fc.array(
          fc.record({
            id: fc.string(),
            title: fc.string(),
            action: fc.constantFrom('flag.set', 'wait', 'validate', 'manual', 'nope'),
            optional: fc.anything(),
            with: fc.dictionary(
              fc.constantFrom('states', 'duration', 'checks', 'instructions', 'flag'),
              fc.oneof(fc.anything(), fc.constantFrom(`$${'{inputs.x}'}`, '${inputs.x', `$${'{nope}'}`)),
            ),
          }),
          { maxLength: 5 },
        ),
      })
      .map((value) => stringify(value)),
  );

  it('lints any runbook without throwing, and loads it or refuses it with a TrimpError', () => {
    fuzz(
      fc.property(runbookDocument, (text) => {
        const path = file('runbook.yaml', text);
        const lint = lintRunbookFile(path);
        if (!lint.ok) expect(lint.issues.length).toBeGreaterThan(0);
        expectOnlyTrimpErrors(() => loadRunbook(path));
      }),
      { numRuns: RUNS },
    );
  });
});

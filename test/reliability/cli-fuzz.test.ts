/**
 * Generated command lines, run as a user would run them (a real process, no terminal, in an empty
 * directory with no config and nothing listening where the app would be). Whatever the words,
 * the tool ends with a documented exit code (0 to 4) and no stack trace; a usage or config error
 * (exit 2) is one line, `trimp-rollback: ...`, that names what was wrong.
 * The words come from the tool's own command tree (every command and option, real and
 * misspelled) and from values chosen to hurt: empty, huge, negative, unicode, control
 * characters, paths that do not exist or are directories, durations and numbers out of range.
 * The commands that start sandboxes or game days are given one unknown option, so that only
 * their parsing is fuzzed here (their runs are the soak's and the crash matrix's).
 * CI runs 60 command lines; `npm run test:reliability` runs TRIMP_FUZZ_RUNS (2,000).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli.js';
import { BIN } from '../helpers/cli.js';
import { recordCases } from '../helpers/reliability.js';

const RUNS = process.env.TRIMP_FUZZ_RUNS ? Number(process.env.TRIMP_FUZZ_RUNS) : 60;
const SEED = Number(process.env.TRIMP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

const home = mkdtempSync(join(tmpdir(), 'trimp-cli-fuzz-'));
const cwd = join(home, 'work');
mkdirSync(cwd);
writeFileSync(join(home, 'a-file'), 'not a directory');
symlinkSync('/dev/null', join(home, 'null-link'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

interface Leaf {
  path: string[];
  options: { flag: string; takesValue: boolean; choices?: string[] }[];
}

/** Every command of the tool, with its options, from the program itself. */
function leaves(command: Command, path: string[] = []): Leaf[] {
  const here: Leaf = {
    path,
    options: command.options.map((o) => ({
      flag: o.long ?? o.short ?? o.flags,
      takesValue: o.required || o.optional,
      ...(o.argChoices ? { choices: o.argChoices } : {}),
    })),
  };
  return [here, ...command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]))];
}
const COMMANDS = leaves(createProgram(() => {})).filter((leaf) => !leaf.path.includes('__complete'));
/** These start processes that outlive a parse: fuzzed with an unknown option, so that only parsing runs. */
const STARTS = (path: string[]) =>
  path[0] === 'rehearse' || (path[0] === 'sandbox' && path[1] !== 'stop' && path[1] !== undefined) || path[0] === 'app';

const hostile = fc.oneof(
  fc.constantFrom('', ' ', '-', '--', '0', '-1', '1e309', 'NaN', '99999999999999999999', '5x', '1h1h', '-5m', '0s', '100%', '2.5'),
  // Paths stay inside the fuzz's own directory or where nothing can be created: run as root, an
  // output option (--junit, --out, --state-dir) given /etc/passwd or /dev/null would replace it.
  fc.constantFrom(
    `${home}/nonexistent/x.yaml`,
    home,
    `${home}/a-file/x`,
    `${home}/null-link`,
    '/nonexistent/x.yaml',
    '../x',
    '~/x',
    'http://',
    'postgres://@:/',
  ),
  fc.constantFrom(
    'regular',
    'beta,admin',
    'admin,,beta',
    'HEAD~1',
    'main',
    'a'.repeat(5000),
    'é☃\u202e',
    '\u0000',
    'x\ny',
    '$(id)',
    '`id`',
  ),
  fc.string({ maxLength: 20 }),
  fc.integer({ min: -1000, max: 1_000_000 }).map(String),
);

const argv = fc.constantFrom(...COMMANDS).chain((leaf) =>
  fc
    .tuple(
      fc.array(
        fc.oneof(
          { weight: 5, arbitrary: leaf.options.length ? fc.constantFrom(...leaf.options) : fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        { maxLength: 5 },
      ),
      fc.array(hostile, { maxLength: 8 }),
      fc.array(fc.constantFrom('--bogus', '--yes', '--json', '--dry-run', '-y', '--no-such', '--help'), { maxLength: 2 }),
    )
    .map(([options, values, extra]) => {
      const words = [...leaf.path];
      let v = 0;
      for (const option of options) {
        if (!option) {
          words.push(values[v++ % Math.max(1, values.length)] ?? 'x');
          continue;
        }
        words.push(option.flag);
        if (option.takesValue) words.push(option.choices && v % 2 === 0 ? (option.choices[0] as string) : (values[v++] ?? ''));
      }
      words.push(...extra);
      if (STARTS(leaf.path)) words.push('--not-an-option-of-the-tool');
      return words.filter((w) => !w.includes('\u0000')); // a NUL cannot be in an argument at all
    }),
);

const failed: string[] = [];
let executed = 0;
afterAll(() => {
  // What ran, not what was asked: fast-check stops at the first failure (its seed replays it).
  recordCases({
    family: 'fuzz',
    part: 'command lines (a real process each)',
    cases: Math.max(executed, 1),
    held: executed - failed.length,
    failed,
  });
});

describe(`generated command lines (${RUNS}, seed ${SEED})`, () => {
  it('end with a documented exit code and no stack trace; a usage error is one line that names the place', async () => {
    try {
      await fc.assert(
        fc.asyncProperty(argv, async (words) => {
          executed++;
          const result = await execa(process.execPath, [BIN, ...words], {
            reject: false,
            stdin: 'ignore',
            cwd,
            // Nothing of the operator's machine: no config, no token, a state directory of its own.
            env: {
              NO_COLOR: '1',
              HOME: home,
              XDG_STATE_HOME: join(home, 'state'),
              TRIMP_ROLLBACK_CONFIG: undefined,
              TRIMP_ADMIN_TOKEN: undefined,
            },
            extendEnv: false,
            timeout: 60_000,
          });
          const stderr = String(result.stderr);
          const shown = words.map((w) => (w.length > 60 ? `${w.slice(0, 60)}…` : w)).join(' ');
          expect(result.signal, `killed: ${shown}`).toBeUndefined();
          expect([0, 1, 2, 3, 4], shown).toContain(result.exitCode);
          expect(stderr, shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$|internal error/m);
          if (result.exitCode === 2) {
            const lines = stderr.trim().split('\n');
            const last = lines.at(-1) ?? '';
            expect(last, shown).toMatch(/^trimp-rollback: \S/);
            // It names the place: an option, a command, a value or a file of this command line, or where to look.
            const quoted = (w: string) => JSON.stringify(w).slice(1, -1).slice(0, 40);
            const named =
              words.some(
                (w) => (w.length > 1 && last.includes(quoted(w))) || last.includes(`"${quoted(w)}"`) || last.includes(`'${quoted(w)}'`),
              ) || /--[a-z]|config|option|argument|command|\/\w/.test(last);
            expect(named, `${last.slice(0, 300)} (for: ${shown})`).toBe(true);
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    } catch (error) {
      failed.push(`seed ${SEED}: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
      if (executed === 0) executed = 1;
      throw error;
    }
  }, 3_600_000);
});

import { once } from 'node:events';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { chmod, rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { maskLogSecrets } from '../checks/log-secrets.js';
import { loadConfig } from '../config/config.js';
import { redactText } from '../config/secret.js';
import { journalPath } from '../engine/journal.js';
import { fileSystemError, usageError } from '../errors.js';
import { toJson, writeOutputFile } from '../report/output.js';
import { renderTable } from '../report/table.js';
import { type ErrorPattern, errorPatterns } from '../target/log-patterns.js';
import { profileNamed } from '../target/profiles/index.js';
import { loadRun, startedAt } from './run-history.js';
import type { CommandResult, RunCommandOptions } from './run-runbook.js';

/** The error patterns are read from at most this many of the newest lines. */
const MAX_LINES = 1_000_000;

const runDir = (stateDir: string, runId: string) => dirname(journalPath(stateDir, runId));

export interface LogsOptions extends RunCommandOptions {
  run?: string;
  out?: string;
}

/**
 * `trimp-rollback logs collect [--run ID] [--out FILE]`: the app's logs as a .tar.gz (built with
 * the tar package; every secret the tool knows masked in the copy) and, beside it, the error
 * patterns since the run began. With --run, the bundle goes into the run's directory and its
 * report links it.
 */
export async function logsCollect(options: LogsOptions): Promise<CommandResult> {
  // The token is read (not needed otherwise) so that a log line holding it is masked in the bundle.
  const config = loadConfig(options);
  const logsDir = config.target.logsDir;
  if (!existsSync(logsDir) || !statSync(logsDir).isDirectory())
    throw usageError('logs-missing', `no logs directory at ${logsDir}`, 'set target.logs_dir (or TRIMP_LOGS_DIR)');
  const run = options.run ? loadRun(config.stateDir, options.run) : undefined;
  const since = run ? startedAt(run) : undefined;
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const out = resolve(options.out ?? (run ? join(runDir(config.stateDir, run.id), `logs-${stamp}.tar.gz`) : `trimp-logs-${stamp}.tar.gz`));
  if (!out.endsWith('.tar.gz') && !out.endsWith('.tgz')) throw usageError('logs-usage', `--out must name a .tar.gz file, not ${out}`);
  if (existsSync(out)) throw usageError('logs-usage', `${out} already exists; name another --out`);
  if (!existsSync(dirname(out))) throw usageError('logs-usage', `the directory for --out does not exist: ${dirname(out)}`);

  // Regular files only, not followed links: a link in the logs directory can point anywhere
  // (/etc/shadow), and a bundle is made to be shared.
  const entries = readdirSync(logsDir).sort();
  const files = entries.filter((name) => lstatSync(join(logsDir, name)).isFile());
  const skipped = entries.filter((name) => !files.includes(name));
  if (skipped.length > 0) process.stderr.write(`note: left out (not regular files): ${skipped.join(', ')}\n`);
  // target.logs' file (the app's captured stderr), when it lives elsewhere; a command's output is not bundled.
  const sources = files.map((name) => ({ name, path: join(logsDir, name) }));
  const captured = config.target.logs && 'file' in config.target.logs ? config.target.logs.file : undefined;
  if (captured && existsSync(captured) && !sources.some((s) => resolve(s.path) === resolve(captured)))
    sources.push({
      name: sources.some((s) => s.name === basename(captured)) ? `captured-${basename(captured)}` : basename(captured),
      path: captured,
    });
  if (config.target.logs && 'command' in config.target.logs)
    process.stderr.write(`note: target.logs.command's output is not bundled: run ${config.target.logs.command.join(' ')} yourself\n`);
  const { lines } = await bundle(sources, out);
  const patterns = errorPatterns(lines.slice(-MAX_LINES), since, profileNamed(config.target.profile).logFormat);
  const summaryPath = out.replace(/\.(tar\.gz|tgz)$/, '.errors.md');
  const names = sources.map((s) => s.name);
  writeOutputFile(summaryPath, renderPatterns(patterns, names, logsDir, since, out), { mode: 0o600 });
  if (run) linkFromReport(runDir(config.stateDir, run.id), out, summaryPath, patterns.length);

  if (options.json)
    process.stdout.write(`${toJson({ bundle: out, files: names, summary: summaryPath, since: since?.toISOString() ?? null, patterns })}\n`);
  else {
    process.stdout.write(`bundle:   ${out} (${names.length} file${names.length === 1 ? '' : 's'} from ${logsDir})\n`);
    process.stdout.write(`patterns: ${summaryPath}\n`);
    process.stdout.write(patternLines(patterns, since).join('\n'));
    process.stdout.write('\n');
  }
  return { exitCode: 0 };
}

/**
 * Copies each log line by line with the known secrets masked into a private scratch directory,
 * packs that with tar (gzip), and renames the result into place: a half-written bundle is never
 * left under the name asked for. Returns every line read, for the patterns.
 */
async function bundle(files: { name: string; path: string }[], out: string): Promise<{ lines: string[] }> {
  const partial = `${out}.partial`;
  const lines: string[] = [];
  let scratch: string | undefined;
  try {
    scratch = mkdtempSync(join(dirname(out), '.trimp-logs-'));
    for (const { name, path } of files) {
      // A binary file (a rotated .gz, a core dump) is copied as it is: read as text it would be corrupted.
      if (looksBinary(path)) {
        copyFileSync(path, join(scratch, name));
        continue;
      }
      const copy = createWriteStream(join(scratch, name), { mode: 0o600 });
      // A write that fails (a full disk) is an error of this bundle, never an unhandled event.
      let failed: Error | undefined;
      copy.on('error', (error) => {
        failed = error;
      });
      const reader = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of reader) {
        if (failed) throw failed;
        // The tool's own secrets, and those the app writes into its logs (password hashes, database URLs).
        const clean = maskLogSecrets(redactText(line));
        lines.push(clean);
        // The newest lines are the ones a rollback is about (trimmed in batches: cheap).
        if (lines.length > 2 * MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
        if (!copy.write(`${clean}\n`)) await once(copy, 'drain'); // rejects on the stream's error
      }
      await new Promise<void>((done, fail) => copy.end((error?: Error | null) => (error || failed ? fail(error ?? failed) : done())));
    }
    const tar = await import('tar');
    closeSync(openSync(partial, 'w', 0o600)); // private from its first byte
    await tar.create(
      { gzip: true, file: partial, cwd: scratch, portable: true, prefix: basename(out).replace(/\.(tar\.gz|tgz)$/, '') },
      files.map((f) => f.name),
    );
    await chmod(partial, 0o600);
    await rename(partial, out);
    return { lines };
  } catch (error) {
    rmSync(partial, { force: true });
    throw fileSystemError(error, 'the log bundle could not be written');
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** A NUL byte in the first 8 KiB: not a text log. */
function looksBinary(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8192);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}

function patternLines(patterns: ErrorPattern[], since: Date | undefined): string[] {
  const when = since ? `since ${since.toISOString()}` : 'in the logs';
  if (patterns.length === 0) return [`no error lines ${when}`];
  const total = patterns.reduce((sum, p) => sum + p.count, 0);
  return [
    `${total} error line(s) ${when}, ${patterns.length} pattern(s):`,
    ...renderTable(
      ['count', 'level', 'first seen', 'last seen', 'pattern'],
      patterns.slice(0, 20).map((p) => [String(p.count), p.level, p.first_seen, p.last_seen, p.shape.slice(0, 120)]),
    ),
    ...(patterns.length > 20 ? [`… and ${patterns.length - 20} more in the summary`] : []),
  ];
}

function renderPatterns(patterns: ErrorPattern[], files: string[], logsDir: string, since: Date | undefined, out: string): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  return [
    '# Error patterns',
    '',
    `- Logs: ${files.map((f) => `\`${f}\``).join(', ')} from \`${logsDir}\``,
    `- Bundle: \`${out}\``,
    `- Since: ${since ? since.toISOString() : 'the start of the logs'}`,
    '',
    '| count | level | first seen | last seen | pattern | example |',
    '|---|---|---|---|---|---|',
    ...patterns.map((p) => `| ${p.count} | ${p.level} | ${p.first_seen} | ${p.last_seen} | ${cell(p.shape)} | ${cell(p.example)} |`),
    '',
  ].join('\n');
}

/** The run's report says where its logs went. */
function linkFromReport(runDir: string, bundlePath: string, summaryPath: string, patterns: number): void {
  const report = join(runDir, 'report.md');
  if (!existsSync(report)) return;
  try {
    writeOutputFile(report, `\n## Logs\n\n- Bundle: \`${bundlePath}\`\n- Error patterns (${patterns}): \`${summaryPath}\`\n`, {
      mode: 0o600,
      append: true,
    });
  } catch (error) {
    throw fileSystemError(error, 'the run report could not link the log bundle');
  }
}

import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../actions/params.js';
import { formatIssue, loadYaml, readSourceFile, SourceError, type SourceIssue } from '../config/yaml-file.js';
import { messageOf, usageError } from '../errors.js';
import { type RunbookDocument, runbookSchema } from './schema.js';

export interface Runbook extends RunbookDocument {
  file: string;
  /** sha256 of the file's bytes: a resumed run refuses a runbook that changed under it. */
  hash: string;
  budgetMs: number;
}

export const BUILTIN_RUNBOOKS_DIR = fileURLToPath(new URL('../../runbooks/', import.meta.url));

export type LintResult = { ok: true; runbook: Runbook } | { ok: false; file: string; issues: SourceIssue[] };

export function lintRunbookFile(file: string): LintResult {
  const path = resolve(file);
  if (!existsSync(path))
    return { ok: false, file: path, issues: [{ file: path, line: 1, column: 1, path: '', message: 'file not found' }] };
  let bytes: Buffer;
  try {
    bytes = Buffer.from(readSourceFile(path, 'runbook'));
  } catch (error) {
    return { ok: false, file: path, issues: [{ file: path, line: 1, column: 1, path: '', message: messageOf(error) }] };
  }
  try {
    const { value } = loadYaml(path, bytes.toString('utf8'), runbookSchema);
    const hash = createHash('sha256').update(bytes).digest('hex');
    return { ok: true, runbook: { ...value, file: path, hash, budgetMs: parseDuration(value.budget) } };
  } catch (error) {
    if (error instanceof SourceError) return { ok: false, file: path, issues: error.issues };
    throw error;
  }
}

/** Loads a runbook by built-in id or by path; any problem is a usage error naming file and line. */
export function loadRunbook(idOrPath: string): Runbook {
  const file = resolveRunbookPath(idOrPath);
  const result = lintRunbookFile(file);
  if (result.ok) return result.runbook;
  const [first, ...rest] = result.issues;
  throw usageError(
    'runbook-invalid',
    first ? formatIssue(first) : `${file}: invalid runbook`,
    rest.length > 0
      ? `${rest.length} more problem(s): trimp-rollback runbooks lint ${file}`
      : `fix the runbook, then: trimp-rollback runbooks lint ${file}`,
  );
}

export function resolveRunbookPath(idOrPath: string): string {
  const looksLikePath = idOrPath.includes('/') || /\.ya?ml$/.test(idOrPath);
  if (looksLikePath) {
    if (!existsSync(idOrPath)) throw usageError('runbook-missing', `runbook file not found: ${resolve(idOrPath)}`);
    return resolve(idOrPath);
  }
  const builtin = join(BUILTIN_RUNBOOKS_DIR, `${idOrPath}.yaml`);
  if (!existsSync(builtin)) {
    throw usageError(
      'runbook-missing',
      `no built-in runbook "${idOrPath}"`,
      `built-in runbooks: ${builtinRunbookIds().join(', ')}; or give a path to a .yaml file`,
    );
  }
  return builtin;
}

export function builtinRunbookIds(): string[] {
  return readdirSync(BUILTIN_RUNBOOKS_DIR)
    .filter((name) => name.endsWith('.yaml') && name !== 'decision-matrix.yaml') // data for advise, not a runbook
    .map((name) => basename(name, '.yaml'))
    .sort();
}

export function builtinRunbookFiles(): string[] {
  return builtinRunbookIds().map((id) => join(BUILTIN_RUNBOOKS_DIR, `${id}.yaml`));
}

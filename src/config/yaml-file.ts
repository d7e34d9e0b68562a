import { readFileSync, statSync } from 'node:fs';
import { type Document, isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { fileSystemError, usageError } from '../errors.js';

/** Runbooks and config files are small; anything larger is a mistake, not a document to parse. */
export const MAX_SOURCE_BYTES = 1024 * 1024;
/** YAML aliases may expand exponentially ("billion laughs"); real runbooks use a handful. */
const MAX_ALIAS_EXPANSIONS = 100;

export interface SourceIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

/** One line per issue, as editors and CI logs expect: `file:line:col: path: message`. */
export function formatIssue(issue: SourceIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export class SourceError extends Error {
  constructor(readonly issues: SourceIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'SourceError';
  }
}

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
}

/** Parses YAML keeping positions; syntax errors become SourceIssues with their line. */
export function parseYaml(file: string, text: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems = [...doc.errors];
  if (problems.length > 0) {
    throw new SourceError(
      problems.map((error) => {
        const pos = lines.linePos(error.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: error.message.split('\n')[0] ?? error.code };
      }),
    );
  }
  return { file, doc, lines };
}

/** Where a path points in the source: the key of the last segment when there is one. */
export function positionOf(source: YamlSource, path: readonly PropertyKey[], key?: string): { line: number; column: number } {
  const segments = key === undefined ? [...path] : [...path, key];
  let node: Node | null | undefined = source.doc.contents as Node | null;
  let best: number | undefined = node?.range?.[0];
  for (const segment of segments) {
    if (!node || !('items' in node)) break;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      best = (pair.key as Node).range?.[0] ?? best;
      node = pair.value as Node | null;
      if (segment === segments[segments.length - 1] && key !== undefined) break;
    } else {
      const item = (node.items as unknown[])[Number(segment)] as Node | undefined;
      if (!item) break;
      best = item.range?.[0] ?? best;
      node = item;
    }
  }
  const pos = source.lines.linePos(best ?? 0);
  return { line: pos.line, column: pos.col };
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, segment) => {
    if (typeof segment === 'number') return `${out}[${segment}]`;
    return out ? `${out}.${String(segment)}` : String(segment);
  }, '');
}

/** Turns zod's issues into positioned, readable SourceIssues. */
export function zodIssues(source: YamlSource, issues: readonly z.core.$ZodIssue[]): SourceIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        file: source.file,
        ...positionOf(source, issue.path, key),
        path: formatPath([...issue.path, key]),
        message: `unknown key "${key}"; remove it or check its spelling`,
      }));
    }
    return [{ file: source.file, ...positionOf(source, issue.path), path: formatPath(issue.path), message: issue.message }];
  });
}

/** Reads a runbook or config file, refusing what cannot be one (a directory, a huge file). */
export function readSourceFile(path: string, what: string): string {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw usageError('source-invalid', `${path} is not a file (expected a ${what})`);
    if (stat.size > MAX_SOURCE_BYTES)
      throw usageError(
        'source-too-large',
        `${path} is ${(stat.size / 1024 / 1024).toFixed(1)} MiB; a ${what} is at most 1 MiB`,
        'is it the right file?',
      );
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw fileSystemError(error, `the ${what} cannot be read`);
  }
}

/** Parse and validate in one go: the value, or a SourceError listing every problem. */
export function loadYaml<S extends z.ZodType>(file: string, text: string, schema: S): { value: z.output<S>; source: YamlSource } {
  const source = parseYaml(file, text);
  let value: unknown;
  try {
    value = source.doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SourceError([
      { file, line: 1, column: 1, path: '', message: `cannot expand the document (${message}); too many YAML aliases?` },
    ]);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new SourceError(zodIssues(source, result.error.issues));
  return { value: result.data, source };
}

import { actionNamed } from '../actions/index.js';
import { formatIssue } from '../config/yaml-file.js';
import { formatMs } from '../report/format.js';
import { builtinRunbookFiles, lintRunbookFile, loadRunbook, resolveRunbookPath } from '../runbook/load.js';
import { runbookJsonSchema } from '../runbook/schema.js';
import type { CommandResult } from './run-runbook.js';

export async function runbooksList(options: { json?: boolean }): Promise<CommandResult> {
  const books = builtinRunbookFiles().map((file) => loadRunbook(file));
  if (options.json) {
    const rows = books.map((b) => ({ id: b.id, title: b.title, budget_ms: b.budgetMs, steps: b.steps.length, file: b.file }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    const width = Math.max(...books.map((b) => b.id.length));
    for (const b of books)
      process.stdout.write(`${b.id.padEnd(width)}  ${b.title} (budget ${formatMs(b.budgetMs)}, ${b.steps.length} steps)\n`);
  }
  return { exitCode: 0 };
}

export async function runbooksShow(idOrPath: string, options: { json?: boolean }): Promise<CommandResult> {
  const book = loadRunbook(idOrPath);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(book, null, 2)}\n`);
    return { exitCode: 0 };
  }
  const lines = [
    `${book.id}: ${book.title}${book.scenario ? ` — ${book.scenario}` : ''}`,
    `  use case: ${book.use_case}`,
    `  impact:   ${book.impact}`,
    `  budget:   ${formatMs(book.budgetMs)}`,
    `  file:     ${book.file}`,
  ];
  const inputs = Object.entries(book.inputs);
  if (inputs.length) {
    lines.push('Inputs:');
    for (const [name, spec] of inputs)
      lines.push(
        `  ${name} (${spec.type})${spec.default !== undefined ? ` = ${JSON.stringify(spec.default)}` : ''}${spec.description ? ` — ${spec.description}` : ''}`,
      );
  }
  lines.push('Steps:');
  book.steps.forEach((step, i) => {
    const action = actionNamed(step.action);
    lines.push(`  ${i + 1}. ${step.id}: ${step.title} [${step.action}, ${action.rehearsal}${action.confirm ? ', asks first' : ''}]`);
    if (step.description) lines.push(`     ${step.description}`);
  });
  process.stdout.write(`${lines.join('\n')}\n`);
  return { exitCode: 0 };
}

/** Lints the given files (or every built-in runbook): every problem on its own line, exit 2 if any. */
export async function runbooksLint(files: string[], options: { json?: boolean }): Promise<CommandResult> {
  const targets = files.length > 0 ? files.map((file) => resolveRunbookPath(file)) : builtinRunbookFiles();
  const results = targets.map((file) => lintRunbookFile(file));
  const failures = results.filter((r) => !r.ok);
  if (options.json) {
    const doc = results.map((r) => (r.ok ? { file: r.runbook.file, ok: true, issues: [] } : { file: r.file, ok: false, issues: r.issues }));
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    for (const r of results) {
      if (r.ok) process.stdout.write(`ok   ${r.runbook.file}\n`);
      else for (const issue of r.issues) process.stdout.write(`${formatIssue(issue)}\n`);
    }
    process.stderr.write(`${results.length - failures.length} of ${results.length} runbook(s) valid\n`);
  }
  return { exitCode: failures.length > 0 ? 2 : 0 };
}

export async function runbooksSchema(): Promise<CommandResult> {
  process.stdout.write(`${JSON.stringify(runbookJsonSchema(), null, 2)}\n`);
  return { exitCode: 0 };
}

/**
 * `trimp-rollback runbooks docs [--out DIR] [--check]`: every built-in runbook as a Markdown
 * procedure (DIR/<id>.md, default docs/runbooks). --check writes nothing and exits 1 when a page
 * is missing or differs from what the runbook renders to (stale documentation).
 */
export async function runbooksDocs(options: { out?: string; check?: boolean }): Promise<CommandResult> {
  const { mkdirSync, readFileSync, existsSync } = await import('node:fs');
  const { join, resolve } = await import('node:path');
  const { renderRunbookDoc } = await import('../report/runbook-docs.js');
  const { writeOutputFile } = await import('../report/output.js');
  const dir = resolve(options.out ?? 'docs/runbooks');
  const stale: string[] = [];
  for (const file of builtinRunbookFiles()) {
    const book = loadRunbook(file);
    const path = join(dir, `${book.id}.md`);
    const text = renderRunbookDoc(book);
    if (options.check) {
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(path);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    writeOutputFile(path, text, { mode: 0o644 });
    process.stdout.write(`${path}\n`);
  }
  if (stale.length > 0) {
    process.stderr.write(`stale: ${stale.join(', ')}; run trimp-rollback runbooks docs${options.out ? ` --out ${options.out}` : ''}\n`);
    return { exitCode: 1 };
  }
  if (options.check) process.stdout.write(`the runbook pages in ${dir} are up to date\n`);
  return { exitCode: 0 };
}

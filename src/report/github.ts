import type { CheckReport } from '../checks/run-checks.js';
import { writeOutputFile } from './output.js';

/** GitHub Actions workflow commands: one annotation per failed or warned check. */
export function githubAnnotations(reports: CheckReport[]): string {
  return reports
    .filter((r) => r.status === 'fail' || r.status === 'warn')
    .map(
      (r) =>
        `::${r.status === 'fail' ? 'error' : 'warning'} title=${escapeProperty(`trimp-rollback ${r.name}`)}::${escapeData(`${r.summary}${r.remedy ? ` — ${r.remedy}` : ''}`)}\n`,
    )
    .join('');
}

/** The job summary: a Markdown table of the checklist. */
export function githubSummary(reports: CheckReport[]): string {
  const icon = { pass: '✅', warn: '⚠️', fail: '❌', skip: '⏭️' } as const;
  const cell = (value: string) => value.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = reports.map(
    (r) => `| ${icon[r.status]} | \`${r.name}\` | ${cell(r.title)} | ${cell(r.summary)} | ${cell(r.remedy ?? '')} |`,
  );
  const count = (s: string) => reports.filter((r) => r.status === s).length;
  return [
    '## trimp-rollback post-rollback validation',
    '',
    `${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('skip')} skipped`,
    '',
    '| | check | checklist item | result | remedy |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export function writeGithubOutputs(reports: CheckReport[], env: NodeJS.ProcessEnv, err: NodeJS.WritableStream): void {
  if (env.GITHUB_ACTIONS !== 'true') return;
  err.write(githubAnnotations(reports));
  if (env.GITHUB_STEP_SUMMARY) writeOutputFile(env.GITHUB_STEP_SUMMARY, githubSummary(reports), { mode: 0o644, append: true });
}

function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

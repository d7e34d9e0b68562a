import { basename } from 'node:path';
import type { TargetInfo } from '../actions/action.js';
import { buildPlan, type PlannedStep } from '../engine/plan.js';
import type { Runbook } from '../runbook/load.js';
import { formatMs } from './format.js';

/**
 * A runbook as a Markdown procedure in the seed's style (use case, impact, time to execute,
 * numbered steps with the exact operations), rendered from the runbook itself so that the
 * documentation cannot drift from what runs. Operations name the seed's default target and
 * placeholders for what only a real run knows (its id, the target.app settings), so the pages
 * are the same on every machine.
 */
export const DOCS_TARGET: TargetInfo = {
  via: 'api',
  baseUrl: 'http://localhost:8080',
  instances: ['http://localhost:8080'],
  database: './training_data.db',
  actor: 'trimp-rollback:<run-id>',
  runId: '<run-id>',
  stateDir: '<state_dir>',
  backupsDir: '<state_dir>/backups',
  appDir: './app',
  logsDir: './app/logs',
  app: { start: ['<target.app.start>'], pidFile: '<target.app.pid_file>', stopGraceMs: 10_000, healthDeadlineMs: 60_000 },
  userChannels: ['<notify.users>'],
};

/** How each built-in runbook is usually started (any runbook also runs as `trimp-rollback run ID`). */
const COMMANDS: Record<string, string> = {
  flag: 'trimp-rollback flag --all',
  gradual: 'trimp-rollback gradual',
  application: 'trimp-rollback application',
  database: 'trimp-rollback database',
  'database-undo': 'trimp-rollback database undo --run RUN_ID',
  complete: 'trimp-rollback run complete',
};

export function renderRunbookDoc(runbook: Runbook): string {
  let steps: DocStep[];
  let note: string | undefined;
  try {
    // A PostgreSQL runbook is described against a PostgreSQL target: its steps say what they do there.
    const info = runbook.id.endsWith('-postgres') ? { ...DOCS_TARGET, database: 'postgres://trimp@db.example:5432/training' } : DOCS_TARGET;
    steps = buildPlan({ runbook, inputs: placeholders(runbook), info, dryRun: true, runId: '<run-id>' }).steps;
  } catch {
    // Inputs only its command can fill in (a kept file and its checksum): the steps, without operations.
    steps = runbook.steps.map((step) => ({ ...step, stage: undefined, operations: [], kind: 'see the dry run for its operations' }));
    note = 'The operations depend on inputs its command fills in; `--dry-run` shows them for a real run.';
  }
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `# ${runbook.title}`,
    '',
    ...(runbook.scenario ? [`_${runbook.scenario}_`, ''] : []),
    `> Generated from \`runbooks/${basename(runbook.file)}\` by \`trimp-rollback runbooks docs\`: edit the runbook, not this page.`,
    '',
    `**Use case:** ${runbook.use_case}`,
    '',
    `**Impact:** ${runbook.impact}`,
    '',
    `**Time to execute:** ${formatMs(runbook.budgetMs)} (the run's budget; it says when it is over)`,
    '',
    `**Run it:** \`${COMMANDS[runbook.id] ?? `trimp-rollback run ${runbook.id}`}\` (first with \`--dry-run\`: the read-only steps run for real, every change is shown)`,
    '',
  ];
  const inputs = Object.entries(runbook.inputs);
  if (inputs.length > 0) {
    lines.push('## Inputs', '', '| input | type | default | meaning |', '|---|---|---|---|');
    for (const [name, spec] of inputs)
      lines.push(
        `| \`${name}\` | ${spec.type} | ${spec.default === undefined ? '(required)' : `\`${JSON.stringify(spec.default)}\``} | ${cell(spec.description ?? '')} |`,
      );
    lines.push('');
  }
  lines.push('## Steps', '', ...(note ? [note, ''] : []));
  let stage: string | undefined;
  for (const [index, step] of steps.entries()) {
    if (step.stage && step.stage.id !== stage) lines.push(`### Stage: ${step.stage.title} (confirmed once for all its changes)`, '');
    stage = step.stage?.id;
    lines.push(
      `#### ${index + 1}. ${step.title}`,
      '',
      `\`${step.id}\` · \`${step.action}\` · ${'kind' in step ? step.kind : kindOf(step)}`,
      '',
    );
    if (step.description) lines.push(step.description, '');
    if (step.operations.length > 0) {
      lines.push('```');
      for (const op of step.operations) lines.push(`${op.kind.padEnd(7)} ${op.text}`);
      lines.push('```', '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

type DocStep =
  | PlannedStep
  | { id: string; title: string; action: string; description?: string | undefined; stage: undefined; operations: []; kind: string };

/** An input without a default (one a command fills in, such as the kept file) shown by its name. */
function placeholders(runbook: Runbook): Record<string, unknown> {
  const PLACEHOLDER: Record<string, unknown> = {
    string: undefined,
    boolean: false,
    number: 0,
    duration: '1m',
    'user-types': ['regular'],
    'flag-states': { regular: false },
  };
  return Object.fromEntries(
    Object.entries(runbook.inputs)
      .filter(([, spec]) => spec.default === undefined)
      .map(([name, spec]) => [name, spec.type === 'string' ? `<${name}>` : PLACEHOLDER[spec.type]]),
  );
}

function kindOf(step: PlannedStep): string {
  if (step.leftOut) return `left out with the default inputs (${step.leftOut})`;
  if (step.rehearsal === 'probe') return 'read-only';
  if (step.rehearsal === 'cannot-simulate') return 'done by hand';
  return step.confirm ? 'changes the system; asks first' : 'acts without asking';
}

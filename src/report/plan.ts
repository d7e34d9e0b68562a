import type { ChalkInstance } from 'chalk';
import { type Config, DEFAULT_CONFIG_NAME, describeTokenSource } from '../config/config.js';
import type { Plan, PlannedStep } from '../engine/plan.js';
import { profileNamed } from '../target/profiles/index.js';
import { formatMs } from './format.js';

/**
 * The plan shown before anything runs: what, why, how long it may take, where the settings came
 * from (a run with no config file says it runs on the seed's defaults), and each step's kind.
 */
export function renderPlan(plan: Plan, c: ChalkInstance, config: Config): string {
  const lines = [
    `${c.bold(plan.runbook.title)}${plan.runbook.scenario ? c.dim(` — ${plan.runbook.scenario}`) : ''}`,
    `  use case: ${plan.runbook.use_case}`,
    `  impact:   ${plan.runbook.impact}`,
    `  budget:   ${formatMs(plan.runbook.budgetMs)}; target via ${plan.info.via} (${plan.info.via === 'api' ? plan.info.baseUrl : plan.info.database})`,
    `  run:      ${plan.runId}${plan.dryRun ? c.yellow(' (dry run: read-only checks run for real, changes are only shown)') : ''}`,
    `  config:   ${config.file ?? `none (no --config, TRIMP_ROLLBACK_CONFIG or ./${DEFAULT_CONFIG_NAME}): the seed's defaults, flags and environment`}`,
    `  state:    ${config.stateDir}${plan.dryRun ? ' (a dry run writes nothing there)' : ' (journal, report, lock)'}`,
    `  ${config.target.login ? 'login: ' : 'token: '}   ${plan.info.via === 'api' ? describeTokenSource(config) : 'not needed (--via db)'}`,
  ];
  // What the tool can do on this app, said before anything runs (the seed's contract needs no words).
  const profile = profileNamed(config.target.profile);
  if (profile.name !== 'seed') {
    lines.push(`  app:      target.profile ${profile.name}; on this app:`);
    for (const { what, how } of profile.capabilities(config.target, plan.info.via)) lines.push(`    ${what}: ${how}`);
  }
  lines.push('Plan:');
  for (const step of plan.steps) {
    const resume =
      step.resume === 'done'
        ? c.dim(' (done in an earlier attempt)')
        : step.resume === 'recheck'
          ? c.yellow(' (started earlier: will re-check)')
          : '';
    const optional = step.optional ? c.dim(' (optional)') : '';
    lines.push(`  ${step.index + 1}. ${step.id}: ${step.title} [${kindOf(step, c)}]${optional}${resume}`);
  }
  return `${lines.join('\n')}\n`;
}

function kindOf(step: PlannedStep, c: ChalkInstance): string {
  if (step.rehearsal === 'probe') return c.dim('read-only');
  if (step.rehearsal === 'cannot-simulate') return c.yellow('manual, cannot be simulated');
  return step.confirm ? c.cyan('changes, asks first') : c.cyan('not run in a dry run');
}

import type { Config } from '../config/config.js';
import { ENHANCED_TRIMP_FLAG } from '../target/user-types.js';
import { flagUndo } from './flag-restore.js';
import type { RunRequest } from './run-runbook.js';

/**
 * The Undo line and the notes under the summary for a run of a built-in scenario's runbook,
 * whoever started it (its own command, `run`, `resume`); a runbook of one's own gets the flag's undo.
 */
export async function scenarioReporting(
  runbookId: string,
  config: Config,
  inputs: Record<string, unknown>,
): Promise<Pick<RunRequest, 'undo' | 'footer'>> {
  switch (runbookId) {
    case 'database':
    case 'database-undo':
    case 'database-postgres':
    case 'database-undo-postgres': {
      const [{ databaseUndo }, { appLeftStopped }] = await Promise.all([import('./database.js'), import('./scenario-footers.js')]);
      return { undo: databaseUndo, footer: appLeftStopped };
    }
    case 'application': {
      const { applicationUndo, applicationFooter } = await import('./application.js');
      return { undo: applicationUndo, footer: applicationFooter(config) };
    }
    case 'gradual': {
      const { gradualFooter } = await import('./gradual.js');
      return { undo: flagUndo, footer: gradualFooter(typeof inputs.flag === 'string' ? inputs.flag : ENHANCED_TRIMP_FLAG) };
    }
    case 'complete': {
      const [{ databaseUndo }, { applicationUndo }, { appLeftStopped }] = await Promise.all([
        import('./database.js'),
        import('./application.js'),
        import('./scenario-footers.js'),
      ]);
      // Undone in the reverse order of the stages, each only when its stage changed something.
      return {
        undo: (result, context) =>
          [databaseUndo(result, context), applicationUndo(result, context), flagUndo(result, context)].filter(Boolean).join(' && ') || null,
        footer: appLeftStopped,
      };
    }
    default:
      return { undo: flagUndo };
  }
}

import { type CheckContext, type CheckResult, skip, warn } from './check.js';

/**
 * No log to read: a skip where the seed's defaults found no files, a warning where the config
 * names a source (target.logs) that is not there: that is a mistake or a missing log, not "clean".
 */
export function noLogs(ctx: CheckContext): CheckResult {
  const where = ctx.target.logs.where;
  if (ctx.target.config.logs)
    return warn(
      `target.logs names ${where}, which is not there: the logs were not read`,
      "check target.logs (the file the app's output is captured in)",
    );
  return skip(`no logs: none in ${where}`, 'set target.logs (a file or a command), or target.logs_dir');
}

import { isTrimpError, messageOf } from '../errors.js';
import { type CheckContext, type CheckResult, fail, skip } from './check.js';

/**
 * Runs a check that needs the app. An unreachable app fails the check, or skips it when the
 * app is allowed to be down (the flag was set through the database).
 */
export async function withApp(ctx: CheckContext, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    if (isTrimpError(error) && error.code === 'app-unreachable') {
      if (ctx.app === 'optional') return skip(`the app is not reachable (${error.message}); allowed for this run`);
      return fail(error.message, error.remedy ?? 'start the app, or check target.base_url');
    }
    return fail(messageOf(error), (error as { remedy?: string }).remedy ?? 'see the evidence');
  }
}

/** Runs a check that needs the database file; without one (a remote database) it skips. */
export async function withDatabase(ctx: CheckContext, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    if (isTrimpError(error) && error.code === 'database-missing') {
      return skip(`no database file at ${ctx.target.config.database}`, 'set target.database to check the data from this host');
    }
    return fail(messageOf(error), (error as { remedy?: string }).remedy ?? 'check the database');
  }
}

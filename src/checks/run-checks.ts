import { messageOf } from '../errors.js';
import { acrossInstances } from './across-instances.js';
import type { CheckContext, CheckDefinition, CheckGroup, CheckResult, CheckStatus } from './check.js';

export interface CheckReport extends CheckResult {
  name: string;
  group: CheckGroup;
  title: string;
  duration_ms: number;
}

/**
 * All checks at once, each with its own timeout: a hanging check is reported as failed when its
 * time is up, and cannot hold up the others or the command.
 */
export async function runChecks(checks: CheckDefinition[], ctx: Omit<CheckContext, 'signal'>): Promise<CheckReport[]> {
  return Promise.all(
    checks.map(async (check) => {
      const started = performance.now();
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      // A check may wait (--settle) for user traffic; its own timeout starts after that.
      const limitMs = ctx.thresholds.checkTimeoutMs + ctx.settleMs;
      const timeout = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => {
          controller.abort();
          resolve({
            status: 'fail',
            summary: `no result within ${limitMs} ms`,
            remedy: 'the check hung: look at what it reads (the app, the database, the logs)',
          });
        }, limitMs);
      });
      const result = await Promise.race([
        acrossInstances(check, { ...ctx, signal: controller.signal }).catch(
          (error: unknown): CheckResult => ({ status: 'fail', summary: messageOf(error), remedy: 'see the evidence' }),
        ),
        timeout,
      ]);
      clearTimeout(timer);
      return { name: check.name, group: check.group, title: check.title, ...result, duration_ms: Math.round(performance.now() - started) };
    }),
  );
}

export function worstStatus(reports: CheckReport[]): CheckStatus {
  for (const status of ['fail', 'warn', 'pass'] as const) if (reports.some((r) => r.status === status)) return status;
  return 'skip';
}

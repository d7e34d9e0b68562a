import type { Target } from '../target/target.js';
import type { Baseline } from './baseline.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';
export type CheckGroup = 'system-health' | 'user-experience' | 'data-integrity';

export interface CheckResult {
  status: CheckStatus;
  summary: string;
  evidence?: Record<string, unknown>;
  /** What to do about a warning or failure. */
  remedy?: string;
}

/** Thresholds, from the config file's `validation:` section or these defaults. */
export interface Thresholds {
  checkTimeoutMs: number;
  errorRateWarn: number;
  errorRateFail: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  logErrorsWarn: number;
  logErrorsFail: number;
  diskFreeMinBytes: number;
  memoryFreeMinBytes: number;
  loadPerCoreMax: number;
  storedSample: number;
  /** The error-rate window after the last change, at least this long. */
  minErrorWindowS: number;
  /** User requests since the change below which error rate and latency are not judged. */
  minRequests: number;
  /** Reference calculations asked of the app per user type. */
  trimpSamples: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  checkTimeoutMs: 10_000,
  errorRateWarn: 0.01,
  errorRateFail: 0.05,
  latencyP95Ms: 500,
  latencyP99Ms: 1000,
  logErrorsWarn: 1,
  logErrorsFail: 10,
  diskFreeMinBytes: 1024 ** 3,
  memoryFreeMinBytes: 256 * 1024 ** 2,
  loadPerCoreMax: 2,
  storedSample: 200,
  minErrorWindowS: 0,
  minRequests: 50,
  trimpSamples: 10,
};

export interface CheckContext {
  target: Target;
  thresholds: Thresholds;
  /** When the rollback began: logs are read from here. */
  since: Date | undefined;
  /** When the last change was made: the error rate is measured after it. */
  changedAt: Date | undefined;
  baseline: Baseline | undefined;
  /** "optional": the app may be down (the flag was set through the database); its checks skip. */
  app: 'required' | 'optional';
  /** How long checks that judge user traffic may wait for enough of it after the change. */
  settleMs: number;
  signal: AbortSignal;
}

export interface CheckDefinition {
  name: string;
  group: CheckGroup;
  /** The seed's checklist line this check ticks. */
  title: string;
  /** It asks the app what users see: with several instances, every instance is asked, and the worst answer counts. */
  perInstance?: boolean;
  run(ctx: CheckContext): Promise<CheckResult>;
}

export function pass(summary: string, evidence?: Record<string, unknown>): CheckResult {
  return { status: 'pass', summary, ...(evidence ? { evidence } : {}) };
}
export function warn(summary: string, remedy: string, evidence?: Record<string, unknown>): CheckResult {
  return { status: 'warn', summary, remedy, ...(evidence ? { evidence } : {}) };
}
export function fail(summary: string, remedy: string, evidence?: Record<string, unknown>): CheckResult {
  return { status: 'fail', summary, remedy, ...(evidence ? { evidence } : {}) };
}
export function skip(summary: string, remedy?: string): CheckResult {
  return { status: 'skip', summary, ...(remedy ? { remedy } : {}) };
}

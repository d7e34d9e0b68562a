import type { PlannedStep } from './plan.js';
import type { StepReport } from './result.js';

/** Where the engine reports what it is doing (stderr); results go elsewhere (stdout). */
export interface Progress {
  stepStarted(step: PlannedStep): void;
  /** `trend`: recent error rates (0..1), drawn as a sparkline where a spinner is shown. */
  stepDetail(step: PlannedStep, text: string, trend?: readonly (number | null)[]): void;
  stepFinished(report: StepReport, elapsedMs: number, budgetMs: number): void;
  note(text: string): void;
  warn(text: string): void;
  /** Stops any spinner before a prompt or a child process writes to the terminal. */
  pause(): void;
}

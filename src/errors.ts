/**
 * Expected failures are typed: each carries a stable code, the documented exit code and one
 * remedy line. Only errors that are not TrimpErrors are bugs (and only they print a stack).
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  declined: 3,
  locked: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class TrimpError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly remedy: string | undefined;

  constructor(code: string, message: string, options: { exitCode?: ExitCodeValue; remedy?: string } = {}) {
    super(message);
    this.name = 'TrimpError';
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.remedy = options.remedy;
  }
}

/** Bad usage or bad input: exit 2. */
export function usageError(code: string, message: string, remedy?: string): TrimpError {
  return new TrimpError(code, message, { exitCode: ExitCode.usage, ...(remedy ? { remedy } : {}) });
}

export function isTrimpError(error: unknown): error is TrimpError {
  return error instanceof TrimpError;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

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

/** A read whose failure is a fact to show, not the end of the command: its value, or why not. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; reason: string };

export async function attempt<T>(work: () => Promise<T> | T): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, reason: messageOf(error) };
  }
}

const FS_PROBLEMS: Record<string, { what: string; remedy: string; exitCode?: ExitCodeValue }> = {
  EACCES: { what: 'permission denied', remedy: 'fix its permissions, or choose another directory (--state-dir)' },
  EPERM: { what: 'operation not permitted', remedy: 'fix its permissions, or choose another directory (--state-dir)' },
  EROFS: { what: 'read-only file system', remedy: 'choose a writable directory (--state-dir, or state_dir in the config)' },
  ENOTDIR: { what: 'a part of the path is a file, not a directory', remedy: 'check the path' },
  EISDIR: { what: 'is a directory, not a file', remedy: 'check the path' },
  ERR_FS_EISDIR: { what: 'is a directory, not a file', remedy: 'check the path' },
  EEXIST: { what: 'already exists and is in the way', remedy: 'move it away, or choose another path' },
  ENAMETOOLONG: { what: 'the path is too long', remedy: 'choose a shorter path' },
  ENOENT: { what: 'no such file or directory', remedy: 'check the path' },
  ELOOP: { what: 'too many symbolic links', remedy: 'check the path' },
  ENOSPC: { what: 'disk full', remedy: 'free space on that file system, then try again', exitCode: ExitCode.failed },
  EDQUOT: { what: 'disk quota exceeded', remedy: 'free space or raise the quota, then try again', exitCode: ExitCode.failed },
  EIO: { what: 'input/output error', remedy: 'check the disk', exitCode: ExitCode.failed },
  EMFILE: { what: 'too many open files', remedy: 'raise the limit (ulimit -n), then try again', exitCode: ExitCode.failed },
};

/**
 * A file-system failure as one line naming the path and what to do. A path that cannot be used
 * as given is bad input (exit 2); a disk that fails or fills up is a failure (exit 1).
 */
export function fileSystemError(error: unknown, doing: string): TrimpError {
  if (error instanceof TrimpError) return error;
  const errno = error as NodeJS.ErrnoException;
  const problem = errno?.code ? FS_PROBLEMS[errno.code] : undefined;
  if (!problem) return new TrimpError('filesystem', `${doing}: ${messageOf(error)}`, { exitCode: ExitCode.usage });
  const where = errno.path ? `${errno.path}: ` : '';
  return new TrimpError('filesystem', `${doing}: ${where}${problem.what} (${errno.code})`, {
    exitCode: problem.exitCode ?? ExitCode.usage,
    remedy: problem.remedy,
  });
}

/** Whether an unknown error is a file-system errno that `fileSystemError` can describe. */
export function isFileSystemError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code in FS_PROBLEMS;
}

import { appendFileSync, chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { redactText, redactValue } from '../config/secret.js';

/**
 * The boundary where text leaves the process. Every writer goes through here once:
 * - stdout and stderr are guarded: secrets are redacted from whatever is written (ours,
 *   commander's, ora's), and a closed pipe (`| head`) stops writing to that stream and nothing
 *   else: the run goes on, journals and releases its lock as usual;
 * - files (reports, JUnit, the GitHub summary) are written redacted;
 * - JSON is serialised from redacted values, so that a secret holding `"` or `\` cannot slip
 *   past a text search of its escaped form.
 */
const guarded = new WeakSet<NodeJS.WriteStream>();

export function guardStdStreams(): void {
  guardStream(process.stdout);
  guardStream(process.stderr);
}

type WriteCallback = (error?: Error | null) => void;

function guardStream(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  let open = true;
  // EPIPE (the reader went away), or any other failure to write: stop writing to this stream.
  stream.on('error', () => {
    open = false;
  });
  const write = stream.write.bind(stream) as (chunk: string, callback?: WriteCallback) => boolean;
  stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (!open || stream.destroyed || stream.writableEnded) {
      if (done) queueMicrotask(() => done());
      return true;
    }
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    try {
      return done ? write(redactText(text), done) : write(redactText(text));
    } catch {
      // A synchronous write (a file, a full disk) failed: the same rule as a closed pipe.
      open = false;
      if (done) queueMicrotask(() => done());
      return true;
    }
  }) as typeof stream.write;
}

/** One JSON document, serialised from redacted values. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(redactValue(value), null, indent);
}

/**
 * A file that leaves the process (report, JUnit, summary), redacted, with an explicit mode. A new
 * file is written under a temporary name and renamed into place: a full disk leaves the old file
 * or none, never half a report.
 */
export function writeOutputFile(path: string, text: string, options: { mode: number; append?: boolean }): void {
  if (options.append) {
    appendFileSync(path, redactText(text), { mode: options.mode });
    return;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, redactText(text), { mode: options.mode });
    chmodSync(temporary, options.mode); // the mode given, whatever the umask
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    // Name the file asked for, not the temporary one.
    if ((error as NodeJS.ErrnoException).path === temporary) (error as NodeJS.ErrnoException).path = path;
    throw error;
  }
}

import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** The app's three logs, as the seed reads them: one timestamped line per event. */
export class AppLogs {
  private readonly application: WriteStream;
  private readonly trimp: WriteStream;
  private readonly errors: WriteStream;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const open = (name: string) => createWriteStream(join(dir, name), { flags: 'a' });
    this.application = open('application.log');
    this.trimp = open('trimp_calculation.log');
    this.errors = open('error.log');
  }

  info(message: string): void {
    this.application.write(line('INFO', message));
  }

  calculation(message: string): void {
    this.trimp.write(line('INFO', message));
  }

  /** Errors go to error.log and to the application log, at ERROR level. */
  error(message: string): void {
    const text = line('ERROR', message);
    this.errors.write(text);
    this.application.write(text);
  }

  close(): Promise<void> {
    const end = (stream: WriteStream) => new Promise<void>((resolve) => stream.end(resolve));
    return Promise.all([end(this.application), end(this.trimp), end(this.errors)]).then(() => undefined);
  }
}

function line(level: string, message: string): string {
  return `${new Date().toISOString()} ${level} ${message.replace(/\s+/g, ' ')}\n`;
}

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Secret } from '../config/secret.js';
import { withoutSecrets } from '../config/secret.js';
import { ExitCode, messageOf, TrimpError } from '../errors.js';
import { connectionOf, describePostgres } from './postgres.js';

/**
 * PostgreSQL's client programs (pg_dump, pg_restore), run with an argument array: the connection
 * as separate options, the password only in the child's environment (never argv, which every user
 * of the machine can read).
 */

/** Debian's versioned binaries, newest first: pg_dump must be at least the server's version. */
export function postgresProgram(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions[0] ? join(root, versions[0], 'bin', name) : name;
}

/** --host, --port, --username, --dbname from the URL, with another database name if given. */
export function connectionArgs(url: string, database?: string): string[] {
  const c = connectionOf(url);
  return [
    '--host',
    c.host,
    '--port',
    String(c.port),
    ...(c.user ? ['--username', c.user] : []),
    '--dbname',
    database ?? c.database ?? 'postgres',
    '--no-password',
  ];
}

/** What a client program's error output ends with, as one line. */
function lastWords(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(-2).join(' ').replace(/\s+/g, ' ');
}

export interface ToolRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * A client program, bounded in time, with the password in PGPASSWORD of its environment only.
 * A program that is missing or fails is one line naming it and what it said.
 */
export async function runPostgresTool(
  name: string,
  args: string[],
  options: {
    url: string;
    password: Secret | undefined;
    timeoutMs: number;
    signal?: AbortSignal;
    /** What the program works on, for messages (default: the server and database of `url`). */
    on?: string;
  },
): Promise<ToolRun> {
  const on = options.on ?? `against ${describePostgres(options.url)}`;
  const { execa } = await import('execa');
  const program = postgresProgram(name);
  const env: NodeJS.ProcessEnv = { ...withoutSecrets(process.env), PGCONNECT_TIMEOUT: '10' };
  if (options.password) env.PGPASSWORD = options.password.reveal();
  const result = await execa(program, args, {
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs,
    env,
    extendEnv: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  if (result.failed && (result as { code?: string }).code === 'ENOENT')
    throw new TrimpError('postgres-missing', `${name} is not installed (looked in /usr/lib/postgresql/*/bin and PATH)`, {
      exitCode: ExitCode.usage,
      remedy: 'install the PostgreSQL client programs: apt-get install postgresql-client',
    });
  if (result.timedOut)
    throw new TrimpError('postgres-command', `${name} did not finish within ${Math.round(options.timeoutMs / 1000)} s ${on}`);
  if (result.isCanceled) throw new TrimpError('interrupted', `${name} was interrupted`, { exitCode: ExitCode.failed });
  if (result.exitCode !== 0)
    throw new TrimpError(
      'postgres-command',
      `${name} failed ${on} (exit ${result.exitCode}): ${lastWords(String(result.stderr)) || messageOf(result)}`,
    );
  return { exitCode: 0, stdout: String(result.stdout), stderr: String(result.stderr) };
}

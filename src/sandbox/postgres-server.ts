import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { withoutSecrets } from '../config/secret.js';
import { TrimpError, usageError } from '../errors.js';

/**
 * A PostgreSQL server of the sandbox's own: initdb in `<dir>/postgres`, listening on loopback
 * only, on a free port (the same one at every start), with a generated superuser password (file,
 * 0600). PostgreSQL refuses to run as root: started as root, it runs as the unprivileged
 * `postgres` user, which then owns its directory. Nothing here touches a system service.
 */
export interface PostgresServer {
  dir: string;
  port: number;
  /** The superuser's password file (0600, readable by the server's user only). */
  superuserPasswordFile: string;
  /** postgres://USER@127.0.0.1:PORT/DB (no password in it). */
  url(user: string, database: string): string;
}

const SERVER_USER = 'postgres';

/** Debian's server binaries (/usr/lib/postgresql/<version>/bin), the newest version there. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new TrimpError('postgres-missing', 'the PostgreSQL server is not installed (no /usr/lib/postgresql/*/bin/initdb)', {
      remedy: 'install it: apt-get install postgresql (only its binaries are used; no service is started)',
    });
  return join(root, versions[0], 'bin');
}

const asRoot = () => process.getuid?.() === 0;

/**
 * A server binary, run as the server's user when we are root, with an argument array. Its
 * environment carries no secret (that user can read it). Returns the exit code; throws, with the
 * last lines it printed, when `strict`.
 */
async function serverCommand(binary: string, args: string[], strict = true): Promise<number> {
  const path = join(postgresBinDir(), binary);
  const [command, argv] = asRoot() ? ['runuser', ['-u', SERVER_USER, '--', path, ...args]] : [path, args];
  const result = await execa(command, argv, {
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
    env: withoutSecrets(process.env),
    extendEnv: false,
  });
  if (result.exitCode !== 0 && strict) {
    const said = String(result.stderr || result.stdout)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ');
    throw new TrimpError('postgres-command', `${binary} failed (exit ${result.exitCode}): ${said}`, {
      remedy: 'see the server log: <sandbox>/postgres/server.log',
    });
  }
  return result.exitCode ?? 1;
}

function layout(dir: string) {
  const root = join(dir, 'postgres');
  return {
    root,
    data: join(root, 'data'),
    fresh: join(root, 'data.new'),
    log: join(root, 'server.log'),
    port: join(root, 'port'),
    password: join(root, 'superuser-password'),
  };
}

/** A free loopback port (bound, then released: the server binds it next; the sandbox app's too). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * pg_ctl hands its paths to a shell inside double quotes: a directory name holding `$`, a
 * backquote, `"` or `\` would run as a command. Refused, with one line.
 */
export function verifyPath(dir: string): void {
  if (/[$`"\\\n]/.test(dir))
    throw usageError(
      'sandbox-path',
      `a PostgreSQL sandbox cannot live in a directory whose path holds $, \`, " or \\ (${JSON.stringify(dir)})`,
      'choose a plain path, such as /tmp/pgsb',
    );
}

/** As root: the postgres user must pass through every directory above the server's. */
function verifyReachable(dir: string): void {
  if (!asRoot()) return;
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0)
      throw usageError(
        'sandbox-path',
        `the postgres user (PostgreSQL refuses to run as root) cannot pass through ${d} (mode ${(mode & 0o777).toString(8)})`,
        `give it search rights (chmod o+x ${d}), or put the sandbox under a directory it can reach, such as /tmp`,
      );
  }
}

/** Whether the cluster's server runs (pg_ctl status: 0 running, 3 not; a stale postmaster.pid is "not"). */
export async function postgresRunning(dir: string): Promise<boolean> {
  const l = layout(dir);
  if (!existsSync(l.data)) return false;
  return (await serverCommand('pg_ctl', ['-D', l.data, 'status'], false)) === 0;
}

/**
 * Creates the cluster (once: into data.new, renamed into place when initdb finished, so a start
 * killed halfway leaves nothing that passes for a cluster) and starts it on the port it had
 * before, if it had one; returns where it listens.
 */
export async function startPostgresServer(dir: string): Promise<PostgresServer> {
  verifyPath(dir);
  const l = layout(dir);
  const previous = existsSync(l.port) ? Number(readFileSync(l.port, 'utf8').trim()) : undefined;
  if (previous && (await postgresRunning(dir))) return describe(dir, previous);
  if (!existsSync(l.data)) {
    verifyReachable(dir);
    mkdirSync(l.root, { recursive: true, mode: 0o700 });
    rmSync(l.fresh, { recursive: true, force: true });
    writeFileSync(l.password, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    if (asRoot()) {
      // The server's user must pass through the sandbox directory (a mkdtemp one is 0700): it
      // gets search only (o+x), not the right to list or read what else is there.
      chmodSync(dir, statSync(dir).mode | 0o001);
      const { uid, gid } = await serverUser();
      chownSync(l.root, uid, gid);
      chownSync(l.password, uid, gid);
    }
    await serverCommand('initdb', [
      '-D',
      l.fresh,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${l.password}`,
      '--encoding=UTF8',
      '--no-instructions',
    ]);
    // Settings in the cluster's own file (quoted by its rules), not on pg_ctl's shell-bound -o line.
    const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;
    appendFileSync(
      join(l.fresh, 'postgresql.conf'),
      `\n# trimp-rollback sandbox\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ${quoted(l.root)}\n`,
    );
    renameSync(l.fresh, l.data);
  }
  // The same port as before: the app's config and the tool's target name it.
  const port = previous || (await freePort());
  writeFileSync(l.port, `${port}\n`);
  await serverCommand('pg_ctl', ['-D', l.data, '-l', l.log, '-w', '-t', '60', '-o', `-p ${port}`, 'start']);
  return describe(dir, port);
}

/** Stops the server if it runs; one that is not running (a stale postmaster.pid included) is stopped already. */
export async function stopPostgresServer(dir: string): Promise<void> {
  if (!(await postgresRunning(dir))) return;
  await serverCommand('pg_ctl', ['-D', layout(dir).data, '-m', 'fast', '-w', '-t', '60', 'stop']);
}

/** A second Ctrl-C: the server is told to stop at once (no waiting for clients); crash-safe by its WAL. */
export function killPostgresServerNow(dir: string): void {
  const l = layout(dir);
  if (!existsSync(join(l.data, 'postmaster.pid'))) return;
  try {
    const path = join(postgresBinDir(), 'pg_ctl');
    const argv = ['-D', l.data, '-m', 'immediate', 'stop'];
    const env = withoutSecrets(process.env);
    if (asRoot()) execFileSync('runuser', ['-u', SERVER_USER, '--', path, ...argv], { stdio: 'ignore', timeout: 10_000, env });
    else execFileSync(path, argv, { stdio: 'ignore', timeout: 10_000, env });
  } catch {
    // Stopping now matters more.
  }
}

function describe(dir: string, port: number): PostgresServer {
  const l = layout(dir);
  return {
    dir: l.root,
    port,
    superuserPasswordFile: l.password,
    url: (user, database) => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
  };
}

/** The superuser's password, as the sandbox (root or not) reads it to set the server up. */
export function superuserPassword(server: PostgresServer): string {
  return readFileSync(server.superuserPasswordFile, 'utf8').trim();
}

async function serverUser(): Promise<{ uid: number; gid: number }> {
  const result = await execa('id', ['-u', SERVER_USER], { reject: false });
  const group = await execa('id', ['-g', SERVER_USER], { reject: false });
  if (result.exitCode !== 0 || group.exitCode !== 0)
    throw new TrimpError('postgres-user', `PostgreSQL refuses to run as root, and there is no "${SERVER_USER}" user to run it as`, {
      remedy: 'install the server from Debian (apt-get install postgresql creates the user), or run as an unprivileged user',
    });
  return { uid: Number(result.stdout), gid: Number(group.stdout) };
}

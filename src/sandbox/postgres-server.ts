import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { TrimpError } from '../errors.js';

/**
 * A PostgreSQL server of the sandbox's own: initdb in `<dir>/postgres`, listening on loopback
 * only, on a free port, with a generated superuser password (file, 0600). PostgreSQL refuses to
 * run as root: started as root, it runs as the unprivileged `postgres` user, which then owns its
 * directory. Nothing here touches a system service.
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

/** Runs a server binary as the server's user (when we are root) with an argument array, never a shell. */
async function serverCommand(binary: string, args: string[]): Promise<void> {
  const path = join(postgresBinDir(), binary);
  const [command, argv] = asRoot() ? ['runuser', ['-u', SERVER_USER, '--', path, ...args]] : [path, args];
  const result = await execa(command, argv, { reject: false, stdin: 'ignore', timeout: 120_000 });
  if (result.exitCode !== 0)
    throw new TrimpError(
      'postgres-command',
      `${binary} failed (exit ${result.exitCode}): ${String(result.stderr || result.stdout)
        .trim()
        .split('\n')
        .slice(-2)
        .join(' ')}`,
    );
}

function layout(dir: string) {
  const root = join(dir, 'postgres');
  return {
    root,
    data: join(root, 'data'),
    log: join(root, 'server.log'),
    port: join(root, 'port'),
    password: join(root, 'superuser-password'),
  };
}

/** A free loopback port (bound, then released: the server binds it next). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Creates the cluster (once) and starts it (on the port it had before, if it had one); returns where it listens. */
export async function startPostgresServer(dir: string): Promise<PostgresServer> {
  const l = layout(dir);
  const previous = existsSync(l.port) ? Number(readFileSync(l.port, 'utf8').trim()) : undefined;
  if (previous && existsSync(join(l.data, 'postmaster.pid'))) return describe(dir, previous); // already running
  if (!existsSync(l.data)) {
    mkdirSync(l.root, { recursive: true, mode: 0o700 });
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
      l.data,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${l.password}`,
      '--encoding=UTF8',
      '--no-instructions',
    ]);
  }
  // The same port as before: the app's config and the tool's target name it.
  const port = previous || (await freePort());
  writeFileSync(l.port, `${port}\n`);
  await serverCommand('pg_ctl', [
    '-D',
    l.data,
    '-l',
    l.log,
    '-w',
    '-t',
    '60',
    '-o',
    `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${l.root} -c fsync=on`,
    'start',
  ]);
  return describe(dir, port);
}

export async function stopPostgresServer(dir: string): Promise<void> {
  const l = layout(dir);
  if (!existsSync(join(l.data, 'postmaster.pid'))) return;
  await serverCommand('pg_ctl', ['-D', l.data, '-m', 'fast', '-w', '-t', '60', 'stop']);
}

/** A second Ctrl-C: the server is told to stop at once (no waiting for clients); crash-safe by its WAL. */
export function killPostgresServerNow(dir: string): void {
  const l = layout(dir);
  if (!existsSync(join(l.data, 'postmaster.pid'))) return;
  try {
    const path = join(postgresBinDir(), 'pg_ctl');
    const argv = ['-D', l.data, '-m', 'immediate', 'stop'];
    if (asRoot()) execFileSync('runuser', ['-u', SERVER_USER, '--', path, ...argv], { stdio: 'ignore', timeout: 10_000 });
    else execFileSync(path, argv, { stdio: 'ignore', timeout: 10_000 });
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

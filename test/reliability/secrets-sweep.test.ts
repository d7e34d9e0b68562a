/**
 * The secrets sweep: every scenario and the commands around it, run under `strace -f -e execve`
 * (the argument list of every child the tool starts, as `ps` would show it: git, the app, pg_dump,
 * psql, tar...), and then every artifact searched for the secrets: stdout and stderr, every file
 * the runs left in the state directory (journals, report.md, report.json, report.html,
 * metrics, deploy history), --json documents, JUnit files, the GitHub step summary and output
 * files, the log bundle (unpacked), the notifications a webhook received, and the children's
 * argument lists. The secrets: the admin token, and on PostgreSQL the database password.
 * An app that echoes request headers into its error answers is one of the targets. A planted
 * secret is found first, so that silence means something.
 * CI runs the SQLite scenarios (TRIMP_SECRETS unset); `npm run test:reliability` adds PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, jsonOf } from '../helpers/cli.js';
import { echoHeaders, type HostileServer, startHostileServer } from '../helpers/hostile-server.js';
import { postgresTests } from '../helpers/postgres.js';
import { planCases, recordCases } from '../helpers/reliability.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

const ALL = process.env.TRIMP_SECRETS === 'all';
const { installed: pgInstalled } = postgresTests();

const work = mkdtempSync(join(tmpdir(), 'trimp-secrets-'));
// The PostgreSQL sandbox's server runs as the unprivileged postgres user, who must reach its directory.
chmodSync(work, 0o711);
const hostiles: HostileServer[] = [];
afterAll(async () => {
  for (const h of hostiles) await h.close();
  rmSync(work, { recursive: true, force: true });
});

/** An artifact: a name (what it is) and its text. */
type Artifact = [string, string];

/** Every file under a directory, as artifacts (a .tar.gz is unpacked and its files read). */
function filesUnder(dir: string, label: string): Artifact[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).flatMap((name): Artifact[] => {
    const path = join(dir, name);
    if (!statSync(path).isFile()) return [];
    if (path.endsWith('.tar.gz')) {
      const into = mkdtempSync(join(work, 'unpacked-'));
      execFileSync('tar', ['-xzf', path, '-C', into]);
      return filesUnder(into, `${label}/${name} (unpacked)`);
    }
    return [[`${label}/${name}`, readFileSync(path, 'latin1')]];
  });
}

/**
 * A command of the tool, under strace: its outputs and every child's argument list are artifacts.
 * strace waits for every process it follows, and the app a rollback starts runs on: once the
 * tool's own process has exited, strace is told to let go (SIGINT detaches it; -I 1, as with -o
 * strace would otherwise block it).
 */
async function traced(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ artifacts: Artifact[]; exitCode: number | undefined; stdout: string; stderr: string }> {
  const trace = join(work, `strace-${name.replace(/\W+/g, '-')}-${Date.now()}`);
  const child = execa('strace', ['-f', '-I', '1', '-e', 'trace=execve', '-s', '65535', '-o', trace, process.execPath, BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    env: { NO_COLOR: '1', ...env },
    timeout: 300_000,
  });
  let exitCode: number | undefined;
  for (;;) {
    const text = existsSync(trace) ? readFileSync(trace, 'utf8') : '';
    const main = /^(\d+) /.exec(text)?.[1];
    const end = main ? new RegExp(`^${main} +\\+\\+\\+ (?:exited with (\\d+)|killed by (\\w+))`, 'm').exec(text) : null;
    if (end) {
      exitCode = end[1] === undefined ? undefined : Number(end[1]);
      break;
    }
    if (child.exitCode !== null && child.exitCode !== undefined) break;
    await sleep(100);
  }
  child.kill('SIGINT');
  const result = await child;
  const children = readFileSync(trace, 'utf8')
    .split('\n')
    .filter((line) => line.includes('execve('));
  return {
    exitCode,
    stdout: String(result.stdout),
    stderr: String(result.stderr).trim().split('\n').slice(-12).join(' | '),
    artifacts: [
      [`${name}: stdout`, String(result.stdout)],
      [`${name}: stderr`, String(result.stderr)],
      [`${name}: the argument lists of ${children.length} exec'd processes`, children.join('\n')],
    ],
  };
}

/** Where a secret appears, whole or as a long enough piece of it (a cut or a base64 copy counts too). */
function leaks(artifacts: Artifact[], secrets: Record<string, string>): string[] {
  return artifacts.flatMap(([name, text]) =>
    Object.entries(secrets).flatMap(([what, secret]) => {
      // Base64 at each of the three alignments a secret can have inside a longer encoded text.
      const encoded = ['', 'x', 'xx'].map((pad) =>
        Buffer.from(pad + secret)
          .toString('base64')
          .slice(4, 24),
      );
      const forms = [secret, secret.slice(0, 16), secret.slice(-16), ...encoded];
      return forms.some((form) => form.length >= 12 && text.includes(form)) ? [`${what} in ${name}`] : [];
    }),
  );
}

/** Searches the artifacts, records the part (one case per artifact), and returns where a secret was found. */
function sweep(key: string, part: string, artifacts: Artifact[], secrets: Record<string, string>): string[] {
  const found = leaks(artifacts, secrets);
  recordCases({
    family: 'secrets',
    key,
    part,
    cases: artifacts.length,
    held: artifacts.length - new Set(found.map((f) => f.split(' in ')[1])).size,
    failed: found,
  });
  return found;
}

/** A webhook that keeps what it is sent. */
async function webhook(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = await startHostileServer((req, res, body) => {
    bodies.push(`${JSON.stringify(req.headers)}\n${body}`);
    res.writeHead(200);
    res.end('ok');
  });
  hostiles.push(server);
  return { url: `${server.url}/hooks/T000/B000`, bodies };
}

async function sandbox(
  dir: string,
  extra: string[] = [],
): Promise<{ base_url: string; config: string; database: string; token_file: string }> {
  const started = await execa(process.execPath, [BIN, 'sandbox', 'start', '--dir', dir, '--json', ...extra], {
    reject: false,
    timeout: 180_000,
  });
  expect(started.exitCode, String(started.stderr)).toBe(0);
  const info = jsonOf<{ base_url: string; config: string; database: string; token_file: string }>({
    exitCode: 0,
    signal: undefined,
    stdout: String(started.stdout),
    stderr: '',
  });
  appendFileSync(info.config, RELAXED_HOST);
  return info;
}

const stop = (dir: string) => execa(process.execPath, [BIN, 'sandbox', 'stop', '--dir', dir], { reject: false });

planCases({ family: 'secrets', key: 'sqlite', part: 'SQLite: every scenario and the commands around it', cases: 1 });
if (ALL) planCases({ family: 'secrets', key: 'pg', part: 'PostgreSQL: backup, database, validate, status', cases: 1 });

describe(`secrets sweep (${ALL ? 'SQLite and PostgreSQL' : 'SQLite; the reliability run adds PostgreSQL'})`, () => {
  it('finds a planted secret, in a file and in a child argument list', () => {
    const secret = 'sEcReT-0123456789abcdef';
    expect(leaks([['a report', `token: ${secret}`]], { token: secret })).toEqual(['token in a report']);
    expect(leaks([['ps', `execve("/usr/bin/git", ["git", "-c", "x=${secret.slice(0, 16)}"]`]], { token: secret })).toEqual(['token in ps']);
    expect(leaks([['clean', 'nothing here']], { token: secret })).toEqual([]);
  });

  it('no secret in any artifact of any scenario (SQLite), nor in any child process argument list', async () => {
    const dir = join(work, 'sqlite');
    mkdirSync(dir);
    const info = await sandbox(join(dir, 'sandbox'), ['--traffic', '40']);
    try {
      const token = readFileSync(info.token_file, 'utf8').trim();
      const hook = await webhook();
      appendFileSync(info.config, `notify:\n  every: 1s\n  channels:\n    - { kind: webhook, url: "${hook.url}" }\n`);
      const github = { GITHUB_STEP_SUMMARY: join(dir, 'summary.md'), GITHUB_OUTPUT: join(dir, 'output.txt'), GITHUB_ACTIONS: 'true' };
      const junit = join(dir, 'junit');
      mkdirSync(junit);
      const echo = await startHostileServer(echoHeaders);
      hostiles.push(echo);
      const config = ['--config', info.config];
      const artifacts: Artifact[] = [];
      const run = async (name: string, args: string[], env: Record<string, string> = {}) => {
        const result = await traced(name, args, { ...github, ...env });
        artifacts.push(...result.artifacts);
        return result;
      };
      const exitOf = async (name: string, args: string[]) => {
        const result = await run(name, args);
        return `${result.exitCode}${result.exitCode === 0 ? '' : `: ${result.stderr}`}`;
      };
      const sandboxDir = join(dir, 'sandbox');
      const breakIt = (fault: string) => execa(process.execPath, [BIN, 'sandbox', 'break', '--dir', sandboxDir, fault], { reject: false });

      await breakIt('trimp-errors');
      expect(await exitOf('flag', ['flag', '--all', '--yes', '--json', ...config])).toBe('0');
      await execa(process.execPath, [BIN, 'sandbox', 'heal', '--dir', sandboxDir], { reject: false });
      expect(await exitOf('flag enable', ['flag', '--all', '--enable', '--yes', ...config])).toBe('0');
      expect(
        (await run('gradual', ['gradual', '--window', '2s', '--interval', '1s', '--stages', 'regular', '--yes', '--json', ...config]))
          .exitCode,
      ).not.toBe(2);
      await breakIt('bad-deploy');
      const application = await run('application', ['application', '--yes', '--json', ...config]);
      expect(application.exitCode).toBe(0);
      expect(await exitOf('backup create', ['backup', 'create', '--json', ...config])).toBe('0');
      expect(await exitOf('database', ['database', '--yes', '--json', ...config])).toBe('0');
      expect(await exitOf('validate', ['validate', '--json', '--junit', join(junit, 'validate.xml'), ...config])).not.toMatch(/^2/);
      expect(await exitOf('status', ['status', ...config])).not.toMatch(/^2/);
      // The token from the environment instead of the file (as CI jobs give it).
      const fromEnv = await run('validate, token from TRIMP_ADMIN_TOKEN', ['validate', '--json', '--config', info.config], {
        TRIMP_ADMIN_TOKEN: token,
      });
      expect(fromEnv.exitCode).not.toBe(2);
      expect(await exitOf('advise', ['advise', '--from-metrics', ...config])).not.toMatch(/^2/);
      expect(await exitOf('runs list', ['runs', 'list', '--json', ...config])).toBe('0');
      const runId = jsonOf<{ run_id: string }>({ exitCode: 0, signal: undefined, stdout: application.stdout, stderr: '' }).run_id;
      expect(await exitOf('report', ['report', runId, '--html', ...config])).toBe('0');
      expect(await exitOf('logs collect', ['logs', 'collect', '--out', join(dir, 'bundle.tar.gz'), ...config])).not.toMatch(/^2/);
      // An app that echoes the request's headers, the token among them, into its error answers.
      expect(
        (await run('flag against an echoing app', ['flag', '--all', '--yes', '--json', '--base-url', echo.url, ...config])).exitCode,
      ).toBe(1);

      artifacts.push(...filesUnder(join(sandboxDir, 'state'), 'state directory'));
      artifacts.push(...filesUnder(join(sandboxDir, 'backups'), 'backups (manifests and files)'));
      artifacts.push(...filesUnder(junit, 'JUnit'));
      for (const file of [github.GITHUB_STEP_SUMMARY, github.GITHUB_OUTPUT, join(dir, 'bundle.tar.gz')])
        if (existsSync(file))
          artifacts.push(
            ...(file.endsWith('.tar.gz')
              ? filesUnder(dir, 'bundle').filter(([n]) => n.includes('unpacked'))
              : [[file, readFileSync(file, 'utf8')] as Artifact]),
          );
      artifacts.push(...hook.bodies.map((body, i): Artifact => [`notification ${i + 1}`, body]));
      // The sweep saw what it claims: notifications, reports, JUnit, the summary, the bundle, children.
      expect(hook.bodies.length).toBeGreaterThan(3);
      expect(artifacts.some(([n]) => n.endsWith('report.html'))).toBe(true);
      expect(artifacts.some(([n]) => n.includes('(unpacked)'))).toBe(true);
      expect(artifacts.some(([n, text]) => n.includes("exec'd") && text.includes('"git"'))).toBe(true);

      const children = artifacts
        .filter(([n]) => n.includes("exec'd"))
        .reduce((n, [name]) => n + Number(/of (\d+) exec/.exec(name)?.[1] ?? 0), 0);
      const found = sweep(
        'sqlite',
        `SQLite: flag, gradual, application, database, backup, validate, status, advise, runs, report, logs collect, an echoing app: ${artifacts.length} artifacts, ${children} child argument lists`,
        artifacts,
        { 'the admin token': token },
      );
      expect(found).toEqual([]);
    } finally {
      await stop(join(dir, 'sandbox'));
    }
  }, 600_000);

  it.skipIf(!ALL)(
    'no secret in any artifact of the PostgreSQL database rollback, nor in pg_dump, pg_restore or psql arguments',
    async () => {
      expect(pgInstalled, 'the reliability run needs the PostgreSQL server binaries').toBe(true);
      const dir = join(work, 'pg');
      mkdirSync(dir);
      const info = await sandbox(join(dir, 'sandbox'), ['--engine', 'postgres']);
      try {
        const token = readFileSync(info.token_file, 'utf8').trim();
        const passwordFile = /database_password_file: (.+)/.exec(readFileSync(info.config, 'utf8'))?.[1]?.trim() ?? '';
        const password = readFileSync(passwordFile.startsWith('/') ? passwordFile : join(dir, 'sandbox', passwordFile), 'utf8').trim();
        expect(password.length).toBeGreaterThan(12);
        const config = ['--config', info.config];
        const artifacts: Artifact[] = [];
        for (const [name, args] of [
          ['backup create', ['backup', 'create', '--json', ...config]],
          ['database', ['database', '--yes', '--json', ...config]],
          ['validate', ['validate', '--json', '--junit', join(dir, 'db.xml'), ...config]],
          ['status', ['status', ...config]],
        ] as const) {
          const result = await traced(name, [...args]);
          expect(result.exitCode, name).not.toBe(2);
          artifacts.push(...result.artifacts);
        }
        artifacts.push(...filesUnder(join(dir, 'sandbox', 'state'), 'state directory'), [
          join(dir, 'db.xml'),
          readFileSync(join(dir, 'db.xml'), 'utf8'),
        ]);
        expect(artifacts.some(([n, text]) => n.includes("exec'd") && /pg_dump|pg_restore|psql/.test(text))).toBe(true);
        const found = sweep(
          'pg',
          `PostgreSQL: backup, database, validate, status: ${artifacts.length} artifacts, pg_dump/pg_restore/psql argument lists`,
          artifacts,
          { 'the admin token': token, 'the database password': password },
        );
        expect(found).toEqual([]);
      } finally {
        await stop(join(dir, 'sandbox'));
      }
    },
    600_000,
  );
});

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, jsonOf } from '../helpers/cli.js';
import { echoHeaders, type HostileServer, startHostileServer } from '../helpers/hostile-server.js';
import { journalOf } from '../helpers/journal.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/** A token with every character that an encoder changes: JSON (" \), XML (< > &), GitHub (%). */
const TOKEN = 'zqXa"Lw\\pR<Tk>&Ms%Ny-QWERTYUIOPasdfghjk';
const scratch = mkdtempSync(join(tmpdir(), 'trimp-secrets-'));
let echo: HostileServer;
let sandbox: TestSandbox;

beforeAll(async () => {
  echo = await startHostileServer(echoHeaders);
  sandbox = await startTestSandbox('trimp-pipes-');
});
afterAll(async () => {
  await echo?.close();
  await sandbox?.remove();
  rmSync(scratch, { recursive: true, force: true });
});

/** No piece of the token (8 characters or more), in any encoding, in the text. */
function expectNoToken(text: string, where: string): void {
  const forms = [TOKEN, JSON.stringify(TOKEN).slice(1, -1), TOKEN.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')];
  for (const form of forms) {
    for (let i = 0; i + 8 <= form.length; i++) expect(text.includes(form.slice(i, i + 8)), `${where}: ${form.slice(i, i + 8)}`).toBe(false);
  }
}

describe('a server that echoes request headers', () => {
  it('never gets the token into stdout, stderr, --json, JUnit, GitHub output, journals or reports', async () => {
    const tokenFile = join(scratch, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const state = join(scratch, 'state');
    const summary = join(scratch, 'summary.md');
    const junit = join(scratch, 'junit.xml');
    writeFileSync(summary, '');
    const target = ['--base-url', echo.url, '--token-file', tokenFile, '--state-dir', state, '--database', join(scratch, 'none.db')];
    const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };

    const text = await cli(['flag', '--all', '--yes', ...target], { env });
    const json = await cli(['flag', '--all', '--yes', '--json', ...target], { env });
    const validate = await cli(['validate', '--json', '--junit', junit, ...target], { env });
    const validateText = await cli(['validate', ...target], { env });
    for (const result of [text, json]) expect(result.exitCode, result.stderr).toBe(1);
    for (const result of [validate, validateText]) expect(result.exitCode, result.stderr).toBe(1);
    // The echo did reach the output: what the server said is shown, with the token cut out.
    expect(text.stdout).toMatch(/authorization.{1,8}Bearer \*\*\*/);
    expect(jsonOf(json)).toMatchObject({ status: 'failed' });

    const outputs: [string, string][] = [
      ['flag stdout', text.stdout],
      ['flag stderr', text.stderr],
      ['flag --json', json.stdout],
      ['validate --json', validate.stdout],
      ['validate stderr (GitHub annotations)', validate.stderr],
      ['validate table', validateText.stdout],
      ['JUnit', readFileSync(junit, 'utf8')],
      ['GitHub step summary', readFileSync(summary, 'utf8')],
    ];
    for (const id of readdirSync(join(state, 'runs'))) {
      for (const file of readdirSync(join(state, 'runs', id)))
        outputs.push([`${id}/${file}`, readFileSync(join(state, 'runs', id, file), 'utf8')]);
    }
    expect(outputs.length).toBeGreaterThanOrEqual(14);
    for (const [where, content] of outputs) expectNoToken(content, where);
    expect(readFileSync(junit, 'utf8')).toMatch(/Bearer \*\*\*/);
  });

  it('git and the sandbox server get no token in their environment', async () => {
    const bin = join(scratch, 'bin');
    const log = join(scratch, 'git-env.log');
    const realGit = (await execa('bash', ['-c', 'command -v git'])).stdout.trim();
    (await import('node:fs')).mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'git'), `#!/bin/sh\nenv >> ${log}\nexec ${realGit} "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    const dir = join(scratch, 'sandbox');
    const started = await cli(['sandbox', 'start', '--dir', dir, '--json'], {
      env: { PATH: `${bin}:${process.env.PATH}`, TRIMP_ADMIN_TOKEN: TOKEN },
    });
    try {
      expect(started.exitCode, started.stderr).toBe(0);
      expect(readFileSync(log, 'utf8')).toMatch(/PATH=/); // git did run, through the wrapper
      expectNoToken(readFileSync(log, 'utf8'), 'git environment');
      const pid = jsonOf<{ pid: number }>(started).pid;
      expectNoToken(readFileSync(`/proc/${pid}/environ`, 'utf8'), 'sandbox server environment');
    } finally {
      await cli(['sandbox', 'stop', '--dir', dir]);
    }
  });
});

describe('a closed output pipe', () => {
  it('stops writing to that stream and nothing else: the run completes, journals as usual, and releases its lock', async () => {
    const child = spawn(process.execPath, [BIN, 'flag', '--all', '--yes', '--config', sandbox.config], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    // The reader goes away after the first few bytes, as `| head -3` does.
    child.stderr.once('data', () => {
      child.stderr.destroy();
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    const runs = readdirSync(join(sandbox.stateDir, 'runs')).sort();
    const events = journalOf(sandbox.stateDir, runs.at(-1) as string);
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(existsSync(join(sandbox.stateDir, 'lock.json'))).toBe(false);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
    expect((await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config])).exitCode).toBe(0);
  });

  it('`--help | head -c 10` prints no stack and exits 0; `flag ... 2>&1 | head -3` finishes the run', async () => {
    const help = await execa(
      'bash',
      ['-c', `set -o pipefail; ${process.execPath} ${BIN} --help 2>${join(scratch, 'help.err')} | head -c 10`],
      {
        reject: false,
      },
    );
    expect(help.exitCode).toBe(0);
    expect(String(help.stdout)).toBe('Usage: tri');
    expect(readFileSync(join(scratch, 'help.err'), 'utf8')).toBe('');

    const run = await execa(
      'bash',
      ['-c', `set -o pipefail; ${process.execPath} ${BIN} flag --all --yes --config ${sandbox.config} 2>&1 | head -3`],
      { reject: false, env: { NO_COLOR: '1' } },
    );
    expect(run.exitCode).toBe(0);
    expect(String(run.stdout).split('\n')).toHaveLength(3);
    expect(await sandbox.flags()).toEqual({ admin: false, beta: false, regular: false });
    expect(existsSync(join(sandbox.stateDir, 'lock.json'))).toBe(false);
  });
});

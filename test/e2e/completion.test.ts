import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli } from '../helpers/cli.js';

let dir: string;
let bin: string;
let state: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trimp-completion-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'trimp-rollback'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
  // A state directory with two runs and a backup, as the tool leaves them.
  state = join(dir, 'state');
  for (const id of ['20261129T031502.123Z-flag-3f9a', '20261129T041502.123Z-gradual-1b2c']) {
    mkdirSync(join(state, 'runs', id), { recursive: true });
    writeFileSync(join(state, 'runs', id, 'journal.jsonl'), '');
  }
  mkdirSync(join(state, 'backups'));
  writeFileSync(join(state, 'backups', '20261129T030000.000Z-nightly.db'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real completion: the script loaded into bash, the function the shell would call, its COMPREPLY. */
function complete(line: string[]): string[] {
  const words = line.map((w) => `'${w}'`).join(' ');
  const script = `eval "$(trimp-rollback completion bash)"; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _trimp_rollback; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, cwd: dir })
    .split('\n')
    .filter(Boolean);
}

describe('shell completion', () => {
  it('the bash script parses (bash -n), and so do zsh and fish where those shells exist', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const script = await cli(['completion', shell]);
      expect(script.exitCode).toBe(0);
      let installed = true;
      try {
        execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
      } catch {
        installed = false;
      }
      if (shell === 'bash' || installed)
        execFileSync(shell, shell === 'fish' ? ['--no-execute', '-c', script.stdout] : ['-n', '-c', script.stdout]);
    }
    const bad = await cli(['completion', 'tcsh']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/unknown shell "tcsh"; shells: bash, zsh, fish/);
  });

  it('completes commands, options, runbook ids, run ids, backup ids and fixed values in a real bash', () => {
    expect(complete(['trimp-rollback', 're'])).toEqual(['resume', 'report', 'rehearse']);
    expect(complete(['trimp-rollback', 'gradual', '--st'])).toEqual(['--state-dir', '--stages']);
    expect(complete(['trimp-rollback', 'run', ''])).toEqual([
      'application',
      'complete',
      'database',
      'database-postgres',
      'database-undo',
      'database-undo-postgres',
      'flag',
      'gradual',
    ]);
    expect(complete(['trimp-rollback', 'resume', '--state-dir', state, ''])).toEqual([
      '20261129T041502.123Z-gradual-1b2c',
      '20261129T031502.123Z-flag-3f9a',
    ]);
    expect(complete(['trimp-rollback', 'flag', 'restore', '--state-dir', state, '--run', '2026'])).toEqual([
      '20261129T041502.123Z-gradual-1b2c',
      '20261129T031502.123Z-flag-3f9a',
    ]);
    expect(complete(['trimp-rollback', 'backup', 'verify', '--state-dir', state, ''])).toEqual(['20261129T030000.000Z-nightly']);
    expect(complete(['trimp-rollback', 'gradual', '--stages', ''])).toEqual(['admin', 'beta', 'regular']);
    expect(complete(['trimp-rollback', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(complete(['trimp-rollback', 'advise', '--issue', ''])).toEqual([
      'trimp-errors',
      'performance',
      'instability',
      'data-corruption',
      'security-breach',
    ]);
    expect(complete(['trimp-rollback', 'advise', '--severity', 'c'])).toEqual(['critical']);
    // A run named like a command substitution is offered as text; Tab never runs it.
    const evil = join(state, 'runs', '$(touch PWNED)');
    mkdirSync(evil);
    writeFileSync(join(evil, 'journal.jsonl'), '');
    expect(complete(['trimp-rollback', 'resume', '--state-dir', state, '$'])).toEqual(['$(touch PWNED)']);
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    // A value the tool cannot list (a config file) falls back to the shell's file names.
    expect(complete(['trimp-rollback', 'flag', '--config', 'bi'])).toEqual(['bin']);
  });
});

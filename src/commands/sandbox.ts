import { existsSync, rmSync } from 'node:fs';
import { usageError } from '../errors.js';
import { sandboxStatus, startSandbox, stopSandbox } from '../sandbox/control.js';
import { FAULT_NAMES, FAULTS, type FaultName } from '../sandbox/faults.js';
import { sandboxLayout } from '../sandbox/layout.js';
import { parseUserTypeList } from './options.js';
import type { CommandResult } from './run-runbook.js';

export interface SandboxOptions {
  dir: string;
  port?: string;
  json?: boolean;
  users?: string;
  activities?: string;
  traffic?: string;
  force?: boolean;
  share?: string;
  userTypes?: string;
  ms?: string;
  defect?: string;
  engine?: string;
  instances?: string;
  profile?: string;
}

export async function sandboxStart(options: SandboxOptions): Promise<CommandResult> {
  const info = await startSandbox(options.dir, {
    port: options.port === undefined ? 0 : integer('--port', options.port, 0, 65535),
    seed: seedSize(options),
    traffic: options.traffic === undefined ? 0 : integer('--traffic', options.traffic, 0, 10_000),
    engine: engineOf(options.engine),
    ...(options.profile !== undefined ? { profile: profileOf(options.profile) } : {}),
    ...(options.instances !== undefined ? { instances: integer('--instances', options.instances, 1, 8) } : {}),
  });
  if (options.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  else {
    process.stdout.write(
      [
        info.instances.length > 1
          ? `sandbox running: ${info.instances.length} instances at ${info.instances.join(', ')}${options.traffic ? `, simulated users: ${options.traffic} requests/s each` : ''}`
          : `sandbox running at ${info.base_url} (pid ${info.pid})${options.traffic ? `, simulated users: ${options.traffic} requests/s` : ''}`,
        `  config:   ${info.config}`,
        `  database: ${info.database}`,
        info.login
          ? `  login:    ${info.login.email}, password in ${info.login.password_file} (the public app's session login)`
          : `  token:    ${info.token_file}`,
        `  logs:     ${info.logs_dir}`,
        info.login
          ? `try: trimp-rollback validate --config ${info.config}   (flags are code on this app: flag is refused)`
          : `try: trimp-rollback flag --all --dry-run --config ${info.config}`,
        '',
      ].join('\n'),
    );
  }
  return { exitCode: 0 };
}

/** `sandbox seed`: a new database at scale, before `sandbox start` serves it. */
export async function sandboxSeed(options: SandboxOptions): Promise<CommandResult> {
  const layout = sandboxLayout(options.dir);
  if (sandboxStatus(options.dir).running) throw usageError('sandbox-running', `a sandbox runs in ${layout.root}; stop it before seeding`);
  if (existsSync(layout.database)) {
    if (!options.force) throw usageError('database-exists', `${layout.database} exists`, 'add --force to replace it');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${layout.database}${suffix}`, { force: true });
  }
  const { createSandboxDatabase, DEFAULT_SEED } = await import('../sandbox/seed.js');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(layout.root, { recursive: true });
  const seed = { ...DEFAULT_SEED, ...seedSize(options) };
  // On a terminal one line updated in place; elsewhere (a log, CI) a plain line per tenth.
  const live = process.stderr.isTTY === true;
  let reported = 0;
  const figures = await createSandboxDatabase(layout.database, seed, (done) => {
    if (options.json) return;
    const text = `  ${done.toLocaleString('en-US')} of ${seed.activities.toLocaleString('en-US')} activities`;
    if (live) process.stderr.write(`\r${text}`);
    else if (done >= reported + seed.activities / 10 || done === seed.activities) {
      reported = done;
      process.stderr.write(`${text}\n`);
    }
  });
  const rate = Math.round(figures.activities / (figures.ms / 1000));
  if (options.json) process.stdout.write(`${JSON.stringify({ database: layout.database, ...figures, activities_per_second: rate })}\n`);
  else {
    if (live) process.stderr.write('\n');
    process.stdout.write(
      `seeded ${layout.database}: ${figures.users} users, ${figures.activities} activities (${figures.streams} with streams) in ${(figures.ms / 1000).toFixed(1)} s (${rate} activities/s)\n`,
    );
  }
  return { exitCode: 0 };
}

export async function sandboxStop(options: SandboxOptions): Promise<CommandResult> {
  const result = await stopSandbox(options.dir);
  const foreign =
    result.foreign_pid !== undefined ? `; the PID file named pid ${result.foreign_pid}, which is another program: it was left alone` : '';
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      result.stopped
        ? `sandbox stopped (pid ${(result.pids ?? [result.pid]).join(', ')}${result.forced ? ', killed after 5 s' : ''})${foreign}\n`
        : `no sandbox was running${foreign}\n`,
    );
  return { exitCode: 0 };
}

export async function sandboxStatusCommand(options: SandboxOptions): Promise<CommandResult> {
  const status = sandboxStatus(options.dir);
  if (options.json) process.stdout.write(`${JSON.stringify(status)}\n`);
  else {
    const faults = status.faults.length ? `; faults: ${status.faults.join(', ')}` : '';
    if (status.instances)
      process.stdout.write(
        `running: ${status.instances.map((i) => `instance ${i.number} at ${i.base_url} (pid ${i.pid})`).join(', ')}; traffic ${status.traffic}/s each${faults}\n`,
      );
    else if (status.running)
      process.stdout.write(`running at ${status.base_url} (pid ${status.pid}, traffic ${status.traffic}/s)${faults}\n`);
    else
      process.stdout.write(
        `not running (${status.dir})${status.stale_pid ? `; stale PID file: ${status.stale_pid} is gone (crashed?)` : ''}${faults}\n`,
      );
  }
  return { exitCode: status.running ? 0 : 1 };
}

export async function sandboxBreak(fault: string, options: SandboxOptions): Promise<CommandResult> {
  const name = faultName(fault);
  if (options.userTypes !== undefined && name !== 'trimp-errors')
    throw usageError('sandbox-usage', `--user-types applies to trimp-errors only, not ${name}`);
  const { breakSandbox } = await import('../sandbox/fault-control.js');
  await breakSandbox(options.dir, name, {
    ...(options.userTypes !== undefined ? { userTypes: parseUserTypeList('--user-types', options.userTypes) } : {}),
    ...(options.share !== undefined ? { share: fraction('--share', options.share) } : {}),
    ...(options.ms !== undefined ? { ms: integer('--ms', options.ms, 1, 60_000) } : {}),
    ...(options.defect !== undefined ? { defect: defectOf(options.defect) } : {}),
  });
  if (options.json) process.stdout.write(`${JSON.stringify({ fault: name, ...FAULTS[name] })}\n`);
  else {
    const cohorts = options.userTypes ? ` (only for ${parseUserTypeList('--user-types', options.userTypes).join(', ')} users)` : '';
    process.stdout.write(`injected ${name}${cohorts}: ${FAULTS[name].symptom}\n  cure: ${FAULTS[name].cure}\n`);
  }
  return { exitCode: 0 };
}

export async function sandboxHeal(fault: string | undefined, options: SandboxOptions): Promise<CommandResult> {
  const { healSandbox } = await import('../sandbox/fault-control.js');
  const healed = await healSandbox(options.dir, fault === undefined ? undefined : faultName(fault));
  if (options.json) process.stdout.write(`${JSON.stringify({ healed })}\n`);
  else process.stdout.write(healed.length ? `healed: ${healed.join(', ')}\n` : 'no fault to heal\n');
  return { exitCode: 0 };
}

function seedSize(options: SandboxOptions) {
  return {
    ...(options.users ? { users: integer('--users', options.users, 4, 1_000_000) } : {}),
    ...(options.activities ? { activities: integer('--activities', options.activities, 0, 100_000_000) } : {}),
  };
}

function faultName(text: string): FaultName {
  if (!(FAULT_NAMES as string[]).includes(text))
    throw usageError('fault-unknown', `unknown fault "${text}"; faults: ${FAULT_NAMES.join(', ')}`);
  return text as FaultName;
}

function defectOf(text: string): 'health' | 'trimp' {
  if (text !== 'health' && text !== 'trimp') throw usageError('sandbox-usage', `--defect must be health or trimp, not "${text}"`);
  return text;
}

function fraction(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 1)
    throw usageError('sandbox-usage', `${flag} must be a number in (0, 1], not "${text}"`);
  return value;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw usageError('sandbox-usage', `${flag} must be an integer from ${min} to ${max}, not "${text}"`);
  return value;
}

function profileOf(text: string): 'seed' | 'trainingmonkey' {
  if (text === 'seed' || text === 'trainingmonkey') return text;
  throw usageError('option-invalid', `--profile must be seed or trainingmonkey, not "${text}"`);
}

function engineOf(text: string | undefined): 'sqlite' | 'postgres' {
  if (text === undefined || text === 'sqlite') return 'sqlite';
  if (text === 'postgres') return 'postgres';
  throw usageError('option-invalid', `--engine must be sqlite or postgres, not "${text}"`);
}

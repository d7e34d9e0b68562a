import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { age, RESTORE_SOURCE, type RestoreSource } from '../actions/restore-source.js';
import { validateLabel } from '../backup/backup-id.js';
import { type BackupEntry, BackupStore, type Verification } from '../backup/store.js';
import { checkedBy, takeBackup } from '../backup/take.js';
import { type ConfigFlags, loadConfig } from '../config/config.js';
import { Interruption } from '../engine/interrupt.js';
import { acquireLock, stateLockPath } from '../engine/lock.js';
import { newRunId, operatorName } from '../engine/run-id.js';
import { ExitCode, usageError } from '../errors.js';
import { formatBytes, formatMs } from '../report/format.js';
import { toJson } from '../report/output.js';
import { isInteractive, styleFor } from '../report/style.js';
import { renderTable } from '../report/table.js';
import { appCommit } from '../target/app-repo.js';
import { isPostgresUrl } from '../target/postgres.js';
import { parseDurationOption } from './options.js';
import { loadRuns, observationsOf, RESUMABLE } from './run-history.js';
import type { CommandResult } from './run-runbook.js';

interface BackupOptions extends ConfigFlags {
  json?: boolean;
  color?: boolean;
}

/** `backup create [--label L] [--deadline 10m]`: an online, verified backup of the target database. */
export async function backupCreate(options: BackupOptions & { label?: string; deadline?: string }): Promise<CommandResult> {
  const config = loadConfig({ ...options, withoutToken: true });
  const label = options.label === undefined ? undefined : validateLabel(options.label);
  const deadlineMs = parseDurationOption('--deadline', options.deadline ?? '10m', 24 * 3_600_000);
  const output = { json: options.json ?? false, color: options.color ?? true };
  const spinner = isInteractive(output) ? (await import('ora')).default({ text: 'backing up', stream: process.stderr }).start() : undefined;
  // Ctrl-C stops the copy between two steps and removes the partial file.
  const interruption = new Interruption((message) => process.stderr.write(`${message}\n`)).install();
  try {
    const manifest = await takeBackup({
      database: config.target.database,
      password: config.target.databasePassword,
      dir: config.backupsDir,
      ...(label ? { label } : {}),
      appCommit: await appCommit(config.target.appDir),
      deadlineMs,
      signal: interruption.signal,
      onProgress: (share) => {
        if (spinner) spinner.text = `backing up ${config.target.database}: ${Math.round(share * 100)}%`;
      },
    });
    spinner?.stop();
    if (options.json) process.stdout.write(`${toJson({ dir: config.backupsDir, ...manifest })}\n`);
    else {
      const c = styleFor(process.stdout, output);
      const rows = Object.entries(manifest.row_counts)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ');
      process.stdout.write(
        [
          `${c.green('✔')} backup ${c.bold(manifest.id)}: ${formatBytes(manifest.size)} in ${formatMs(manifest.duration_ms)}, ${checkedBy(manifest)}`,
          `  rows: ${rows}; newest activity ${manifest.newest_activity ?? 'none'}`,
          `  SHA-256 ${manifest.sha256}`,
          `  ${config.backupsDir}/${manifest.file} (+ ${manifest.id}.json)`,
          '',
        ].join('\n'),
      );
    }
    // A signal that arrived during the last synchronous writes is handled on the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    if (interruption.requested) {
      // The signal came after the copy was whole: it is kept (and said), and the exit still tells of it.
      process.stderr.write(`interrupted after the backup was complete: ${manifest.id} is kept\n`);
      return { exitCode: ExitCode.failed, interrupted: true };
    }
    return { exitCode: ExitCode.ok };
  } catch (error) {
    spinner?.stop();
    if (interruption.requested) {
      process.stderr.write('backup interrupted: the partial copy was removed\n');
      return { exitCode: ExitCode.failed, interrupted: true };
    }
    throw error;
  } finally {
    interruption.dispose();
  }
}

/** `backup list`: every backup with its age, size, rows, and whether its checksum still holds. */
export async function backupList(options: BackupOptions): Promise<CommandResult> {
  const config = loadConfig({ ...options, withoutToken: true });
  const store = new BackupStore(config.backupsDir);
  const now = Date.now();
  const rows = [];
  for (const entry of store.entries()) {
    const verification = await store.verify(entry, 'checksum');
    rows.push(rowOf(entry, verification, now));
  }
  const leftovers = store.leftovers();
  if (options.json) {
    process.stdout.write(`${toJson({ dir: config.backupsDir, backups: rows, leftovers })}\n`);
    return { exitCode: ExitCode.ok };
  }
  if (rows.length === 0) {
    process.stdout.write(`no backups in ${config.backupsDir} (take one: trimp-rollback backup create)\n`);
    return { exitCode: ExitCode.ok };
  }
  const table = rows.map((r) => [
    r.id,
    r.created_at ? `${age(now - Date.parse(r.created_at))} ago` : '?',
    r.size === null ? '?' : formatBytes(r.size),
    r.row_counts?.activities === undefined ? '?' : String(r.row_counts.activities),
    r.verifies ? 'yes' : `NO: ${r.problem}`,
    r.label ?? '',
  ]);
  const lines = [
    `backups in ${config.backupsDir} (newest first; "verifies": the file's SHA-256 matches its manifest)`,
    ...renderTable(['id', 'age', 'size', 'activities', 'verifies', 'label'], table),
  ];
  if (leftovers.length > 0) lines.push(`${leftovers.length} partial file(s) of an interrupted backup; backup prune removes them`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return { exitCode: ExitCode.ok };
}

function rowOf(entry: BackupEntry, verification: Verification, now: number) {
  const m = entry.manifest;
  return {
    id: entry.id,
    created_at: m?.created_at ?? null,
    age_ms: m ? Math.max(0, now - Date.parse(m.created_at)) : null,
    size: m?.size ?? null,
    row_counts: m?.row_counts ?? null,
    newest_activity: m?.newest_activity ?? null,
    label: m?.label ?? null,
    sha256: m?.sha256 ?? null,
    verifies: verification.ok,
    problem: verification.ok ? null : `${verification.checks.at(-1)?.name}: ${verification.checks.at(-1)?.detail}`,
    file: entry.file,
  };
}

/** `backup verify ID [--thorough]`: manifest, size, SHA-256, quick_check (integrity_check); exit 1 if any fails. */
export async function backupVerify(id: string, options: BackupOptions & { thorough?: boolean }): Promise<CommandResult> {
  const config = loadConfig({ ...options, withoutToken: true });
  const store = new BackupStore(config.backupsDir);
  const entry = store.get(id);
  const server = isPostgresUrl(config.target.database)
    ? { url: config.target.database, password: config.target.databasePassword }
    : undefined;
  const verification = await store.verify(entry, options.thorough ? 'integrity' : 'quick', server);
  if (options.json)
    process.stdout.write(`${toJson({ id: entry.id, ok: verification.ok, checks: verification.checks, file: entry.file })}\n`);
  else {
    const c = styleFor(process.stdout, { json: false, color: options.color ?? true });
    const lines = verification.checks.map((check) => `${check.ok ? c.green('✔') : c.red('✘')} ${check.name}: ${check.detail}`);
    const unchecked = verification.checks.at(-1)?.detail.startsWith('could not be checked');
    lines.push(
      verification.ok
        ? `backup ${entry.id} verifies`
        : unchecked
          ? `backup ${entry.id} could not be verified here (it was not found damaged): fix what is said above, then verify again`
          : `backup ${entry.id} does NOT verify: do not restore it`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return { exitCode: verification.ok ? ExitCode.ok : ExitCode.failed };
}

/** `backup prune --keep N [--dry-run]`: the newest N stay; never while a rollback runs (it may be restoring one). */
export async function backupPrune(options: BackupOptions & { keep?: string; dryRun?: boolean }): Promise<CommandResult> {
  const keep = Number(options.keep);
  if (options.keep === undefined || !Number.isInteger(keep) || keep < 1 || keep > 100_000)
    throw usageError('prune-usage', `--keep needs a whole number of backups to keep, at least 1 (got ${options.keep ?? 'nothing'})`);
  const config = loadConfig({ ...options, withoutToken: true });
  const store = new BackupStore(config.backupsDir);
  const lock = options.dryRun
    ? undefined
    : acquireLock({
        path: stateLockPath(config.stateDir),
        scope: `state directory ${config.stateDir}`,
        holder: {
          run_id: newRunId('backup-prune'),
          pid: process.pid,
          host: hostname(),
          since: new Date().toISOString(),
          reason: null,
          runbook: 'backup prune',
          operator: operatorName(),
          state_dir: config.stateDir,
        },
        force: { unlock: false, reason: null },
      });
  try {
    const entries = store.entries();
    const complete = entries.filter((e) => e.manifest);
    const incomplete = entries.filter((e) => !e.manifest);
    // A backup an unfinished run chose is what its resume will restore: it stays.
    const needed = backupsNeededByUnfinishedRuns(config.stateDir);
    const doomed = complete.slice(keep).filter((e) => !needed.has(e.id));
    const spared = complete.slice(keep).filter((e) => needed.has(e.id));
    const leftovers = store.leftovers();
    if (!options.dryRun) {
      for (const entry of doomed) store.remove(entry);
      for (const path of leftovers) rmSync(path, { force: true });
    }
    const verb = options.dryRun ? 'would remove' : 'removed';
    if (options.json) {
      const report = {
        dry_run: options.dryRun ?? false,
        kept: complete.slice(0, keep).map((e) => e.id),
        removed: doomed.map((e) => e.id),
        spared: spared.map((e) => ({ id: e.id, run: needed.get(e.id) })),
        leftovers,
        incomplete: incomplete.map((e) => ({ id: e.id, problem: e.problem })),
      };
      process.stdout.write(`${toJson(report)}\n`);
    } else {
      const kept = Math.min(keep, complete.length) + spared.length;
      const lines = [
        `kept ${kept} of ${complete.length} backup(s) in ${config.backupsDir}: the newest ${Math.min(keep, complete.length)}${spared.length ? `, and ${spared.length} an unfinished run chose` : ''}`,
      ];
      for (const entry of doomed) lines.push(`${verb} ${entry.id} (${formatBytes(entry.manifest?.size ?? 0)})`);
      for (const path of leftovers) lines.push(`${verb} ${path} (a partial file of an interrupted backup)`);
      for (const entry of spared)
        lines.push(`kept ${entry.id}: run ${needed.get(entry.id)} chose it and has not finished (resume it, or it stays)`);
      for (const entry of incomplete) lines.push(`left alone: ${entry.id}: ${entry.problem} (remove it by hand if it is not needed)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return { exitCode: ExitCode.ok };
  } finally {
    lock?.release();
  }
}

/** Backup id → the unfinished run (failed, interrupted, killed) that chose it to restore. */
function backupsNeededByUnfinishedRuns(stateDir: string): Map<string, string> {
  const needed = new Map<string, string>();
  for (const run of loadRuns(stateDir).runs) {
    if (!RESUMABLE.includes(run.status) && run.status !== 'running') continue;
    for (const observation of observationsOf(run.events)) {
      const source = observation.data as Partial<RestoreSource> | undefined;
      if (observation.name === RESTORE_SOURCE && source?.kind === 'backup' && source.id) needed.set(source.id, run.id);
    }
  }
  return needed;
}

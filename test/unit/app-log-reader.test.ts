import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { maskLogSecrets } from '../../src/checks/log-secrets.js';
import { appLogReader, PYTHON_LOG_FORMAT, SEED_LOG_FORMAT } from '../../src/target/app-log-reader.js';

/** target.logs: the app's log lines from a file or a command, in the public app's format or the seed's. */
const dir = mkdtempSync(join(tmpdir(), 'trimp-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Python logging's asctime: local time, comma before the milliseconds. */
function stamp(at: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())},${p(at.getMilliseconds(), 3)}`;
}

const now = new Date();
const old = new Date(now.getTime() - 3600_000);
const lines = [
  `${stamp(old)} - strava_app - ERROR - an hour ago`,
  'a line the app printed with print(), no stamp',
  `${stamp(now)} - strava_app - INFO - Starting server`,
  `${stamp(now)} - strava_training_load - ERROR - TRIMP_CALC: stream failed`,
  `${stamp(now)} - strava_app - CRITICAL - database gone`,
];

describe('the public app log format', () => {
  it('reads asctime as local time, the logger, the level', () => {
    const line = PYTHON_LOG_FORMAT.parse('2026-11-29 04:58:16,092 - strava_app - INFO - Admin 1 toggled x');
    expect(line?.level).toBe('INFO');
    expect(line?.at.getTime()).toBe(new Date(2026, 10, 29, 4, 58, 16, 92).getTime());
    expect(PYTHON_LOG_FORMAT.parse('2026-11-29T04:58:16.092Z ERROR seed format')).toBeUndefined();
    expect(SEED_LOG_FORMAT.parse('2026-11-29T04:58:16.092Z ERROR seed format')?.level).toBe('ERROR');
  });

  it('from a file: the error lines of the last minutes, not the old ones, not unstamped output', async () => {
    const file = join(dir, 'app.out');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const reader = appLogReader({ file }, dir, PYTHON_LOG_FORMAT);
    const since = new Date(now.getTime() - 60_000);
    expect(await reader.errorLines(since, new Date(now.getTime() + 1000))).toEqual([lines[3], lines[4]]);
    expect((await reader.linesSince(since))?.map((l) => l.level)).toEqual(['INFO', 'ERROR', 'CRITICAL']);
    expect(await appLogReader({ file: join(dir, 'none') }, dir, PYTHON_LOG_FORMAT).linesSince(since)).toBeUndefined();
  });

  it('from a command without a shell, both of its streams (docker logs prints the app stderr on its own)', async () => {
    const script = `process.stdout.write(${JSON.stringify(`${lines.slice(0, 3).join('\n')}\n`)}); process.stderr.write(${JSON.stringify(`${lines.slice(3).join('\n')}\n`)});`;
    const reader = appLogReader({ command: [process.execPath, '-e', script] }, dir, PYTHON_LOG_FORMAT);
    expect(reader.where).toContain('the output of');
    const since = new Date(now.getTime() - 60_000);
    expect(await reader.errorLines(since, new Date(now.getTime() + 1000))).toEqual([lines[3], lines[4]]);
    const tails = await reader.tails(1024 * 1024);
    expect(tails?.[0]?.lines).toHaveLength(5);
  });

  it('a command that fails is one line that names it', async () => {
    const reader = appLogReader({ command: [process.execPath, '-e', 'process.exit(3)'] }, dir, PYTHON_LOG_FORMAT);
    await expect(reader.linesSince(new Date(0))).rejects.toThrow(/^target\.logs\.command .* -e process\.exit\(3\) failed \(exit 3\)$/);
  });
});

describe('the zone of the app', () => {
  it('target.logs.timezone reads asctime in the app zone (a container in UTC, an operator elsewhere)', () => {
    const line = '2026-11-29 04:58:16,092 - strava_app - ERROR - x';
    const inTokyo = PYTHON_LOG_FORMAT.inZone?.('+09:00').parse(line);
    expect(inTokyo?.at.toISOString()).toBe('2026-11-28T19:58:16.092Z');
    expect(PYTHON_LOG_FORMAT.inZone?.('UTC').parse(line)?.at.toISOString()).toBe('2026-11-29T04:58:16.092Z');
    expect(PYTHON_LOG_FORMAT.inZone?.('-05:30').parse(line)?.at.toISOString()).toBe('2026-11-29T10:28:16.092Z');
  });
});

describe('secrets the app writes into its logs', () => {
  it('are masked whole, also a DATABASE_URL cut inside its password and a key=value password', () => {
    expect(maskLogSecrets("Found user data: {'password_hash': 'pbkdf2:sha256:600000$abcdEFGH$0123456789abcdef0123'}")).toBe(
      "Found user data: {'password_hash': '***'}",
    );
    expect(maskLogSecrets('Using DATABASE_URL: postgresql://trainingmonkey_app:Zq8LongGeneratedPasswo')).toBe('Using DATABASE_URL: ***');
    expect(maskLogSecrets('DATABASE_URL=postgres://u:s3cr3t@db.internal:5432/tm ok')).not.toContain('s3cr3t');
    expect(maskLogSecrets('dsn host=db user=tm password=hunter22 dbname=tm')).toBe('dsn host=db user=tm *** dbname=tm');
    expect(maskLogSecrets('2026-11-29 04:58:16,092 - strava_app - INFO - Starting server on port 8080')).toBe(
      '2026-11-29 04:58:16,092 - strava_app - INFO - Starting server on port 8080',
    );
  });
});

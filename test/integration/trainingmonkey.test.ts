import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson, stepOf } from '../helpers/cli.js';
import { postgresTests } from '../helpers/postgres.js';
import { RELAXED_HOST } from '../helpers/sandbox.js';

/**
 * The trainingmonkey profile against the sandbox that plays the public app as deployed
 * (../shared/PUBLIC-APP.md): session login, flags set in code, health by its body, figures from
 * api_logs, TRIMP answers from trimp-comparison, logs from the app's captured stderr. Every
 * expectation is read from outside the tool: raw HTTP, the database file, the log file.
 */
let dir: string;
let info: { base_url: string; config: string; database: string; login: { email: string; password_file: string } };
let password: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trimp-tm-'));
  const started = await cli(['sandbox', 'start', '--dir', dir, '--profile', 'trainingmonkey', '--traffic', '40', '--json']);
  expect(started.exitCode, started.stderr).toBe(0);
  info = jsonOf(started);
  appendFileSync(info.config, RELAXED_HOST);
  password = readFileSync(info.login.password_file, 'utf8').trim();
  // Enough user traffic in api_logs for the user-facing checks to judge (they need 50 requests).
  await new Promise((resolve) => setTimeout(resolve, 2500));
}, 60_000);

afterAll(async () => {
  await cli(['sandbox', 'stop', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
});

const db = () => new Database(info.database, { readonly: true, fileMustExist: true });
const scalar = (sql: string, ...params: unknown[]) => {
  const handle = db();
  try {
    return Object.values(handle.prepare(sql).get(...params) as Record<string, unknown>)[0];
  } finally {
    handle.close();
  }
};
const runsIn = () => {
  try {
    return readdirSync(join(dir, 'state', 'runs'));
  } catch {
    return [];
  }
};

/** The test's own requests say they are probes (as the tool's do), so that the app's figures count only its users. */
const PROBE = { 'user-agent': 'trimp-rollback/test' };

/** A session as any client gets one: POST /login with a JSON body. */
async function login(pass = password): Promise<{ status: number; cookie: string | undefined }> {
  const response = await fetch(`${info.base_url}/login`, {
    method: 'POST',
    headers: { ...PROBE, 'content-type': 'application/json' },
    body: JSON.stringify({ email: info.login.email, password: pass }),
  });
  return { status: response.status, cookie: /session=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0] };
}

/** The enhanced flag as the app serves it now, read from outside through its own login. */
async function servedFlag(): Promise<Record<string, unknown>> {
  const { cookie } = await login();
  const response = await fetch(`${info.base_url}/api/admin/feature-flags`, { headers: { ...PROBE, cookie: cookie as string } });
  return ((await response.json()) as { feature_flags: { enhanced_trimp_calculation: Record<string, unknown> } }).feature_flags
    .enhanced_trimp_calculation;
}

describe('the public app, as the sandbox plays it', () => {
  it('has its facts: session login, sorted keys, /health 200, the placeholder toggle, 404 and 500 endpoints, api_logs', async () => {
    expect(statSync(info.login.password_file).mode & 0o777).toBe(0o600);
    const config = readFileSync(info.config, 'utf8');
    expect(config).toContain('profile: trainingmonkey');
    expect(config).toContain(`login: { email: ${info.login.email}, password_file: ./admin-password }`);
    expect(config).not.toContain(password);

    // No token mechanism: a bearer header is ignored.
    const bearer = await fetch(`${info.base_url}/api/admin/feature-flags`, { headers: { ...PROBE, authorization: 'Bearer anything' } });
    expect(bearer.status).toBe(401);
    expect(await bearer.json()).toEqual({ data: [], error: 'Authentication required', success: false });
    expect((await login('wrong')).status).toBe(401);
    const { status, cookie } = await login();
    expect(status).toBe(200);
    const headers = { ...PROBE, cookie: cookie as string };

    const flags = await fetch(`${info.base_url}/api/admin/feature-flags`, { headers });
    const text = await flags.text();
    // Flask's jsonify: keys sorted at every level.
    expect(text.indexOf('"feature_flags"')).toBeLessThan(text.indexOf('"success"'));
    expect(text).toContain(
      '"enhanced_trimp_calculation":{"admin_enabled":true,"beta_enabled":true,"description":"Uses heart rate stream data for improved TRIMP accuracy","name":"Enhanced TRIMP Calculation","regular_enabled":false,"rollout_phase":"beta"}',
    );

    // The toggle answers 200 and persists nothing.
    const toggle = await fetch(`${info.base_url}/api/admin/feature-flags/enhanced_trimp_calculation/toggle`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ user_type: 'admin', enabled: false }),
    });
    expect(toggle.status).toBe(200);
    expect(await toggle.json()).toMatchObject({
      message: 'Feature flag enhanced_trimp_calculation for admin users set to False',
      success: true,
    });
    expect(await (await fetch(`${info.base_url}/api/admin/feature-flags`, { headers })).text()).toBe(text);

    const metrics = await fetch(`${info.base_url}/api/admin/trimp-performance-metrics`, { headers });
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).toBe('');
    expect((await fetch(`${info.base_url}/api/admin/monitoring/dashboard`, { headers })).status).toBe(500);
    expect((await fetch(`${info.base_url}/api/trimp/calculate`, { method: 'POST', headers: PROBE })).status).toBe(405);

    const stats = (await (await fetch(`${info.base_url}/api/admin/trimp-calculation-stats`, { headers })).json()) as {
      statistics: { calculation_methods: { avg_hr_samples: unknown; trimp_calculation_method: string }[] };
    };
    const stream = stats.statistics.calculation_methods.find((m) => m.trimp_calculation_method === 'stream');
    expect(stream?.avg_hr_samples).toMatch(/^\d+\.\d{16}$/); // PostgreSQL's NUMERIC comes out as a string

    // Every request is in api_logs, the failed ones with their code.
    expect(Number(scalar("SELECT COUNT(*) FROM api_logs WHERE endpoint = 'toggle_feature_flag' AND status_code = 200"))).toBeGreaterThan(0);
    expect(Number(scalar("SELECT COUNT(*) FROM api_logs WHERE endpoint = 'get_monitoring_dashboard' AND error_message = 'HTTP 500'"))).toBe(
      1,
    );
    expect(Number(scalar("SELECT COUNT(*) FROM api_logs WHERE endpoint = 'get_training_data' AND user_id IS NOT NULL"))).toBeGreaterThan(0);
    // Its logs: Python's format on stderr, captured.
    expect(readFileSync(join(dir, 'app', 'logs', 'app.out'), 'utf8')).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - strava_app - INFO - Admin 1 toggled enhanced_trimp_calculation for admin users to False$/m,
    );
  });

  it('trimp-comparison answers what the Banister formula gives by hand, for an activity without a stream', async () => {
    const { cookie } = await login();
    const response = await fetch(`${info.base_url}/api/admin/trimp-comparison`, {
      method: 'POST',
      headers: { ...PROBE, cookie: cookie as string, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 4, activity_count: 20, days_back: 3650 }),
    });
    expect(response.status).toBe(200);
    const rows = ((await response.json()) as { comparison_results: Record<string, number | boolean | string>[] }).comparison_results;
    const plain = rows.find((r) => r.has_hr_stream === false);
    expect(plain).toBeDefined();
    const user = db().prepare('SELECT resting_hr, max_hr, gender FROM user_settings WHERE id = 4').get() as Record<string, number | string>;
    // Banister (1991): minutes × HRR × 0.64 × e^(k·HRR), k = 1.92 (men) or 1.67 (women), 2 decimals.
    const hrr = ((plain?.avg_hr as number) - (user.resting_hr as number)) / ((user.max_hr as number) - (user.resting_hr as number));
    const k = user.gender === 'female' ? 1.67 : 1.92;
    const byHand = Math.round((plain?.duration as number) * hrr * 0.64 * Math.exp(k * hrr) * 100) / 100;
    expect(plain?.average_trimp).toBeCloseTo(byHand, 2);
    expect(plain?.enhanced_trimp).toBe(plain?.average_trimp);
    expect(String(plain?.date)).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} 00:00:00 GMT$/);
  });
});

describe('logging in', () => {
  it('a wrong password is one line, exit 1, before any step; a missing one exits 2; neither leaves a run', async () => {
    const before = runsIn().length;
    const wrong = await cli(['application', '--yes', '--config', info.config], { env: { TRIMP_ADMIN_PASSWORD: 'not-the-password' } });
    expect(wrong.exitCode).toBe(1);
    const last = wrong.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toBe(
      `trimp-rollback: the app at ${info.base_url} refused the login of ${info.login.email} (password from TRIMP_ADMIN_PASSWORD): wrong e-mail or password — check target.login.email and the password; the app's admin is a user_settings row with is_admin`,
    );
    expect(wrong.stderr).not.toContain('not-the-password');
    expect(wrong.stderr).not.toMatch(/\n\s+at /); // no stack

    const validate = await cli(['validate', '--config', info.config], { env: { TRIMP_ADMIN_PASSWORD: 'not-the-password' } });
    expect(validate.exitCode).toBe(1);
    expect(validate.stdout).toBe('');

    const bare = join(dir, 'no-password.yaml');
    writeFileSync(bare, readFileSync(info.config, 'utf8').replace(', password_file: ./admin-password', ''));
    const missing = await cli(['application', '--yes', '--config', bare]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `trimp-rollback: no admin password to log in to ${info.base_url} as ${info.login.email}: none in TRIMP_ADMIN_PASSWORD or target.login.password_file — set TRIMP_ADMIN_PASSWORD, or write it into a file (chmod 600) named by target.login.password_file`,
    );
    expect(runsIn().length).toBe(before);

    // A password file others can read is refused (it is the admin's password).
    const loose = join(dir, 'loose-password');
    writeFileSync(loose, `${password}\n`, { mode: 0o644 });
    const looseConfig = join(dir, 'loose.yaml');
    writeFileSync(looseConfig, readFileSync(info.config, 'utf8').replace('./admin-password', loose));
    const refused = await cli(['validate', '--config', looseConfig]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`can be read by other users (mode 644) — chmod 600 ${loose}`);

    // The right one, from the environment: logged in, and never printed.
    const right = await cli(['status', '--json', '--config', bare], { env: { TRIMP_ADMIN_PASSWORD: password } });
    expect(right.exitCode, right.stderr).toBe(0);
    expect(jsonOf<{ flag: { states: unknown } }>(right).flag.states).toEqual({ admin: true, beta: true, regular: false });
    expect(right.stdout + right.stderr).not.toContain(password);
  });
});

describe('flags on an app that sets them in code', () => {
  it('flag is refused before any change, with the reason and the way that works; advise says the same', async () => {
    const since = new Date().toISOString();
    const before = runsIn().length;
    for (const extra of [[], ['--via', 'db']]) {
      const refused = await cli(['flag', '--all', '--yes', ...extra, '--config', info.config]);
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr.trim()).toBe(
        'trimp-rollback: nothing was changed: step set-flag would set the flag, but on this app flags are set in code (utils/feature_flags.py): its toggle endpoint answers 200 and persists nothing, and there is no feature_flags table — deploy a release without the enhanced calculation: trimp-rollback application (the previous release; --to COMMIT for an older one) (trimp-rollback advise says the same)',
      );
    }
    const gradual = await cli(['gradual', '--yes', '--config', info.config], { timeoutMs: 20_000 });
    expect(gradual.exitCode).toBe(2);
    expect(gradual.stderr.trim().split('\n').at(-1)).toMatch(
      /^trimp-rollback: nothing was changed: steps stage-1, stage-2, stage-3 would set the flag, but on this app flags are set in code/,
    );
    expect(runsIn().length).toBe(before);
    // Not one toggle reached the app.
    expect(Number(scalar('SELECT COUNT(*) FROM api_logs WHERE endpoint = \'toggle_feature_flag\' AND "timestamp" >= ?', since))).toBe(0);

    const advice = await cli(['advise', '--issue', 'performance', '--json', '--config', info.config]);
    expect(advice.exitCode, advice.stderr).toBe(0);
    const answer = jsonOf<{ action: string; command: string; note: string }>(advice);
    expect(answer.action).toBe('Application rollback');
    expect(answer.command).toBe(`trimp-rollback application --config ${info.config}`);
    expect(answer.note).toContain('the matrix says feature flag rollback, but on this app flags are set in code');
  });

  it('a toggle that answers success and changes nothing fails the step: acknowledged but not applied', async () => {
    // An operator who says the toggle persists (target.flag_toggle) gets it tried, and read back.
    const claims = join(dir, 'persists.yaml');
    writeFileSync(
      claims,
      readFileSync(info.config, 'utf8').replace('  profile: trainingmonkey\n', '  profile: trainingmonkey\n  flag_toggle: persists\n'),
    );
    const since = new Date().toISOString();
    const run = await cli(['flag', '--all', '--yes', '--json', '--config', claims]);
    expect(run.exitCode).toBe(1);
    const result = jsonOf<RunJson>(run);
    expect(result.status).toBe('failed');
    expect(result.undo_command).toBeNull(); // nothing changed: nothing to put back
    expect(stepOf(result, 'set-flag').summary).toBe(
      `acknowledged but not applied: ${info.base_url} answered every change with success, and reading the flag back shows admin still enabled, beta still enabled; this app does not change the flag this way (an application rollback to a release without it does: trimp-rollback application, or --to COMMIT)`,
    );
    // From outside: the app was asked (and said 200) for each type, and still serves the old states.
    expect(
      Number(
        scalar('SELECT COUNT(*) FROM api_logs WHERE endpoint = \'toggle_feature_flag\' AND status_code = 200 AND "timestamp" >= ?', since),
      ),
    ).toBe(3);
    expect(await servedFlag()).toMatchObject({
      admin_enabled: true,
      beta_enabled: true,
      regular_enabled: false,
    });

    // A state the app already has is verified in the app's own terms: its flag shape, its user ids, trimp-comparison.
    const already = await cli(['flag', '--user-type', 'regular', '--yes', '--json', '--config', claims]);
    expect(already.exitCode, already.stderr).toBe(0);
    const verified = stepOf(jsonOf<RunJson>(already), 'verify');
    expect(verified.summary).toMatch(/^regular disabled; TRIMP: user 4 → activity \d+: enhanced [\d.]+, average [\d.]+$/);
    expect(verified.evidence?.evaluations).toEqual({ user_4: { userType: 'regular', enabled: false } });

    // resume speaks to the run's app as the run did: another profile is refused, the same one logs in again.
    const seedShaped = join(dir, 'seed-shaped.yaml');
    writeFileSync(
      seedShaped,
      readFileSync(claims, 'utf8')
        .split('\n')
        .filter((line) => !/^ {2}(profile|login|logs|flag_toggle):/.test(line))
        .join('\n'),
    );
    const other = await cli(['resume', result.run_id, '--yes', '--config', seedShaped]);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain("target.profile seed (the run's: trainingmonkey");
    const again = await cli(['resume', result.run_id, '--yes', '--json', '--config', claims]);
    expect(again.exitCode).toBe(1);
    expect(stepOf(jsonOf<RunJson>(again), 'set-flag').summary).toMatch(/^acknowledged but not applied: /);
  });
});

interface Check {
  name: string;
  status: string;
  summary: string;
  evidence?: Record<string, unknown>;
}
async function validate(...checks: string[]): Promise<{ exitCode: number | undefined; checks: Check[] }> {
  const run = await cli(['validate', '--json', '--config', info.config, ...(checks.length ? ['--checks', checks.join(',')] : [])]);
  return { exitCode: run.exitCode, checks: jsonOf<{ checks: Check[] }>(run).checks };
}
const named = (checks: Check[], name: string) => checks.find((c) => c.name === name) as Check;

describe('validate, each check answering from the real sources', () => {
  it('passes on the healthy app, and says where each answer came from', async () => {
    const { exitCode, checks } = await validate();
    expect(
      checks.filter((c) => c.status !== 'pass' && c.status !== 'skip').map((c) => `${c.name}: ${c.summary}`),
      JSON.stringify(checks, null, 1),
    ).toEqual([]);
    expect(exitCode).toBe(0);
    expect(named(checks, 'app-responsive').evidence).toMatchObject({ http_status: 200, status: 'healthy', database: 'connected' });
    expect(named(checks, 'api-endpoints').summary).toBe(
      'all 6 endpoints answer 200; not asked, broken in the released app: /api/admin/monitoring/dashboard (500), /api/admin/trimp-performance-metrics (404)',
    );
    expect(named(checks, 'database').summary).toContain('activities, user_settings, hr_streams, api_logs');
    expect(named(checks, 'trimp-app-answer').evidence?.source).toBe(
      'POST /api/admin/trimp-comparison, against the same activities computed from the database',
    );
    expect(named(checks, 'trimp-stored-values').summary).toMatch(/^200 recent activities recompute within ± 0\.01 by their method column/);
    expect(named(checks, 'users-can-reach').summary).toBe('GET /login answered HTTP 200, GET /api/user HTTP 200 (user 1)');
    const errors = named(checks, 'user-errors').evidence as { requests: number; per_user_type: Record<string, { requests: number }> };
    expect(errors.requests).toBeGreaterThanOrEqual(50);
    expect(Object.keys(errors.per_user_type).sort()).toEqual(['admin', 'beta', 'regular']);
    expect(named(checks, 'logs-clean').evidence?.source).toBe(join(dir, 'app', 'logs', 'app.out'));
  });

  it('user-errors and performance read api_logs: planted failures and slow answers fail them', async () => {
    const writer = new Database(info.database);
    const now = Date.now();
    const plant = writer.prepare(
      `INSERT INTO api_logs ("timestamp", endpoint, method, response_time_ms, status_code, user_id, user_agent, error_message)
       VALUES (?, 'get_training_data', 'GET', 2500, 500, 5, 'planted', 'HTTP 500')`,
    );
    for (let i = 0; i < 80; i++) plant.run(new Date(now - i * 100).toISOString());
    try {
      const { checks } = await validate('user-errors', 'performance');
      expect(named(checks, 'user-errors').status).toBe('fail');
      expect(named(checks, 'user-errors').summary).toMatch(/too many errors for regular$/);
      // Per endpoint, as api_logs records it: where the failures are.
      expect(
        ((named(checks, 'user-errors').evidence?.per_endpoint ?? {}) as Record<string, { errors: number }>).get_training_data?.errors,
      ).toBe(80);
      expect(
        jsonOf<{ checks: (Check & { remedy: string })[] }>(
          await cli(['validate', '--checks', 'user-errors', '--json', '--config', info.config]),
        ).checks[0]?.remedy,
      ).toMatch(/^failing: get_training_data \(80 of \d+ failed\); see /);
      expect(named(checks, 'performance').status).toBe('fail');
      expect(named(checks, 'performance').summary).toMatch(/p95 above 500 ms for regular$/);
    } finally {
      writer.prepare("DELETE FROM api_logs WHERE user_agent = 'planted'").run();
      writer.close();
    }
  });

  it('trimp-stored-values recomputes by the method column and names a damaged activity', async () => {
    const writer = new Database(info.database);
    const { id, trimp } = writer
      .prepare(
        "SELECT activity_id AS id, trimp FROM activities WHERE trimp_calculation_method = 'stream' ORDER BY activity_id DESC LIMIT 1",
      )
      .get() as { id: number; trimp: number };
    writer.prepare('UPDATE activities SET trimp = ? WHERE activity_id = ?').run(trimp * 60, id);
    try {
      const { checks } = await validate('trimp-stored-values');
      const check = named(checks, 'trimp-stored-values');
      expect(check.status).toBe('fail');
      expect(((check.evidence?.mismatches ?? []) as string[]).some((m) => m.startsWith(`activity ${id}: stored ${trimp * 60}`))).toBe(true);
    } finally {
      writer.prepare('UPDATE activities SET trimp = ? WHERE activity_id = ?').run(trimp, id);
      writer.close();
    }
  });

  it('logs-no-secrets finds the password hash the app logs at every login, and never prints it', async () => {
    const hash = String(scalar('SELECT password_hash FROM user_settings WHERE id = 1'));
    expect(readFileSync(join(dir, 'app', 'logs', 'app.out'), 'utf8')).toContain(hash); // planted by the app itself
    const run = await cli(['validate', '--checks', 'logs-no-secrets', '--json', '--config', info.config]);
    expect(run.exitCode).toBe(1);
    const check = named(jsonOf<{ checks: Check[] }>(run).checks, 'logs-no-secrets');
    expect(check.summary).toMatch(/^\d+ log line\(s\) hold a secret: password hash \(werkzeug\), in .*app\.out \(lines? /);
    expect(run.stdout + run.stderr).not.toContain(hash);
    expect(run.stdout + run.stderr).not.toContain(hash.split('$')[2] as string);
  });
});

describe('the other commands there', () => {
  it("status, runs, advise --from-metrics, logs collect (the app's hashes masked), backup, database, report", async () => {
    const status = await cli(['status', '--config', info.config]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain('(flag via api; trainingmonkey profile, flags read-only (set in code))');
    // /health needs no login: a wrong password does not make the app look down.
    const wrongLogin = await cli(['status', '--config', info.config], { env: { TRIMP_ADMIN_PASSWORD: 'not-the-password' } });
    expect(wrongLogin.stdout).toMatch(/^app {7}\/health 200 healthy/m);
    expect(wrongLogin.stdout).toContain('refused the login of');
    expect(status.stdout).toMatch(/^app {7}\/health 200 healthy/m);
    expect(status.stdout).toMatch(/^errors {4}\d+\/\d+ requests failed in the last 60 s/m);
    expect((await cli(['runs', 'list', '--config', info.config])).exitCode).toBe(0);

    const advice = await cli(['advise', '--from-metrics', '--json', '--config', info.config]);
    expect(advice.exitCode, advice.stderr).toBe(0);
    const evidence = jsonOf<{ evidence: string[] }>(advice).evidence;
    expect(evidence).toContainEqual('/health: HTTP 200 healthy, database connected');
    expect(evidence.some((line) => /^app\.out, last 15 min: \d+ error lines/.test(line))).toBe(true);

    const hash = String(scalar('SELECT password_hash FROM user_settings WHERE id = 1'));
    // The broken dashboard logs an ERROR line at each call: one for the bundle's patterns to find.
    const { cookie } = await login();
    await fetch(`${info.base_url}/api/admin/monitoring/dashboard`, { headers: { ...PROBE, cookie: cookie as string } });
    const out = join(dir, 'logs.tar.gz');
    const logs = await cli(['logs', 'collect', '--out', out, '--json', '--config', info.config]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    const bundled = jsonOf<{ files: string[]; patterns: { level: string; shape: string }[] }>(logs);
    expect(bundled.files).toContain('app.out');
    // Error patterns read in the app's own (Python) format.
    expect(bundled.patterns.some((p) => p.level === 'ERROR' && p.shape.startsWith('strava_app: Error getting monitoring dashboard'))).toBe(
      true,
    );
    const listing = await execa('tar', ['-xzOf', out], { encoding: 'utf8' });
    expect(listing.stdout).toContain("'password_hash': '***'");
    expect(listing.stdout).not.toContain(hash);

    const backup = await cli(['backup', 'create', '--json', '--config', info.config]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const id = jsonOf<{ id: string }>(backup).id;
    expect((await cli(['backup', 'verify', id, '--config', info.config])).exitCode).toBe(0);
    const restore = await cli(['database', '--backup', id, '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
    expect(restore.exitCode, restore.stderr).toBe(0);
    const run = jsonOf<RunJson>(restore);
    expect(stepOf(run, 'validate').status).toBe('succeeded');
    expect(Number(scalar("SELECT COUNT(*) FROM api_logs WHERE endpoint = 'health_check'"))).toBeGreaterThan(0); // a whole app database again
    const report = await cli(['report', run.run_id, '--config', info.config]);
    expect(report.exitCode, report.stderr).toBe(0);
    expect(report.stdout).toContain('- Status: **succeeded**');
  }, 150_000);
});

describe('the application rollback there', () => {
  it('a release whose /health says unhealthy (with HTTP 200) is rolled back; the tool logs in again after the restart', async () => {
    const broke = await cli(['sandbox', 'break', 'bad-deploy', '--dir', dir]);
    expect(broke.exitCode, broke.stderr).toBe(0);
    const health = await fetch(`${info.base_url}/health`);
    expect(health.status).toBe(200); // the app's own code: never anything else
    expect(await health.json()).toMatchObject({ status: 'unhealthy', database_connection_status: 'not connected' });
    const failing = await validate('app-responsive');
    expect(named(failing.checks, 'app-responsive').summary).toBe('/health answered status unhealthy, database not connected');

    const logins = () =>
      (readFileSync(join(dir, 'app', 'logs', 'app.out'), 'utf8').match(/ - strava_app - INFO - User 1 logged in$/gm) ?? []).length;
    const loginsBefore = logins();
    const run = await cli(['application', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonOf<RunJson>(run);
    expect(stepOf(result, 'deploy').summary).toMatch(/is at [0-9a-f]{12} \(1\.1\.0\), was [0-9a-f]{12} \(1\.2\.0\)$/);
    expect(stepOf(result, 'validate').status).toBe('succeeded');
    // Logged in before the restart, and again after it (the restarted app forgot the session).
    expect(logins() - loginsBefore).toBeGreaterThanOrEqual(2);
    expect(await (await fetch(`${info.base_url}/health`)).json()).toMatchObject({
      status: 'healthy',
      database_connection_status: 'connected',
    });
    expect(run.stdout + run.stderr + readFileSync(result.journal as string, 'utf8')).not.toContain(password);
  }, 150_000);

  it('with the app down (no login possible), the application rollback still runs, and says it could not log in first', async () => {
    const pid = Number(readFileSync(join(dir, 'sandbox.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // HEAD~1 is 1.0.0, the release without the enhanced calculation (the deploy history's previous one is the broken 1.2.0).
    const run = await cli(['application', '--to', 'HEAD~1', '--yes', '--json', '--config', info.config], { timeoutMs: 120_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /^warning: could not log in to the app now \(cannot reach the app at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\): the steps that need its admin API log in when they run$/m,
    );
    const result = jsonOf<RunJson>(run);
    expect(stepOf(result, 'preflight').summary).toMatch(/not running/);
    expect(stepOf(result, 'validate').status).toBe('succeeded');
    expect(await (await fetch(`${info.base_url}/health`)).json()).toMatchObject({ status: 'healthy' });
    // A release without the enhanced calculation: the app's flags say so.
    expect(await servedFlag()).toMatchObject({
      admin_enabled: false,
      beta_enabled: false,
      regular_enabled: false,
    });
  }, 150_000);
});

const { pgIt } = postgresTests();

describe('on PostgreSQL, as the public app runs', () => {
  pgIt(
    'validate answers from the same sources, and logs-no-secrets finds the DATABASE_URL the app logs with its password',
    async () => {
      const pgDir = mkdtempSync(join(tmpdir(), 'trimp-tm-pg-'));
      try {
        const started = await cli(
          ['sandbox', 'start', '--dir', pgDir, '--profile', 'trainingmonkey', '--engine', 'postgres', '--traffic', '40', '--json'],
          {
            timeoutMs: 120_000,
          },
        );
        expect(started.exitCode, started.stderr).toBe(0);
        const pg = jsonOf<{ config: string; database: string; database_password_file: string }>(started);
        appendFileSync(pg.config, RELAXED_HOST);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const run = await cli(['validate', '--json', '--config', pg.config]);
        const checks = jsonOf<{ checks: Check[] }>(run).checks;
        expect(checks.filter((c) => c.status !== 'pass' && c.status !== 'skip').map((c) => `${c.name}: ${c.summary}`)).toEqual([]);
        expect(run.exitCode).toBe(0);
        expect(named(checks, 'no-corruption').summary).toMatch(/^\d+ B-tree indexes checked: ok$/);
        expect(pg.database).toMatch(/^postgres:\/\/trimp@127\.0\.0\.1:\d+\/training$/);

        const dbPassword = readFileSync(pg.database_password_file, 'utf8').trim();
        expect(readFileSync(join(pgDir, 'app', 'logs', 'app.out'), 'utf8')).toContain(`:${dbPassword}@`); // the app's own leak
        const secrets = await cli(['validate', '--checks', 'logs-no-secrets', '--json', '--config', pg.config]);
        expect(secrets.exitCode).toBe(1);
        const found = named(jsonOf<{ checks: Check[] }>(secrets).checks, 'logs-no-secrets');
        expect(found.summary).toContain('database URL with a password');
        expect(found.summary).toContain('password hash (werkzeug)');
        expect(secrets.stdout + secrets.stderr).not.toContain(dbPassword);
      } finally {
        await cli(['sandbox', 'stop', '--dir', pgDir]);
        rmSync(pgDir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});

import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, jsonOf, type RunJson } from '../helpers/cli.js';
import { journalEvents } from '../helpers/processes.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * Notifications and escalation against real receivers: an HTTP server on a loopback port (as
 * Slack's incoming webhooks take them) and an SMTP server (smtp-server). A run of a small
 * runbook that waits 2.5 s, with notify.every 1s and a second escalation level at 1.5 s.
 */
let sandbox: TestSandbox;
let runbook: string;

beforeAll(async () => {
  sandbox = await startTestSandbox('trimp-notify-');
  runbook = join(sandbox.dir, 'slow.yaml');
  writeFileSync(
    runbook,
    [
      'version: 1',
      'id: slow',
      'title: A slow rollback',
      'use_case: notification tests',
      'impact: none',
      'budget: 1m',
      'steps:',
      '  - { id: check, title: Check health, action: app.health }',
      '  - { id: pause, title: Let the metrics settle, action: wait, with: { duration: 2500ms } }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await sandbox?.remove();
});

interface Received {
  at: number;
  text: string;
  json: Record<string, unknown>;
}

async function receiver(answer: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.end('ok')) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const json = JSON.parse(body) as { text: string };
      received.push({ at: Date.now(), text: json.text, json });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/services/T0001/B0001/hook-secret-path-42`,
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The sandbox's config plus notify/escalation settings, in a file of its own. */
function configWith(name: string, yaml: string): string {
  const path = join(sandbox.dir, `${name}.yaml`);
  copyFileSync(sandbox.config, path);
  appendFileSync(path, yaml);
  return path;
}

const ESCALATION = `escalation:
  - { after: 0s, team: Development Team, contacts: ["@dev-oncall"] }
  - { after: 1500ms, team: Operations Team, contacts: ["ops@example.test"] }
`;

describe('notifications and escalation', () => {
  it('a webhook gets start, progress and end in order; escalation is said on the terminal, in the journal and to the channel', async () => {
    const hook = await receiver();
    try {
      const config = configWith('webhook', `notify:\n  every: 1s\n  channels:\n    - { kind: webhook, url: "${hook.url}" }\n${ESCALATION}`);
      const result = await cli(['run', runbook, '--yes', '--json', '--reason', 'notification test', '--config', config]);
      expect(result.exitCode, result.stderr).toBe(0);
      const titles = hook.received.map((m) => m.text.split('\n')[0]);
      expect(titles[0]).toMatch(/^\*Rollback started: A slow rollback \(\S+\)\*$/);
      expect(titles.at(-1)).toMatch(/^\*Rollback SUCCEEDED: A slow rollback \(\S+\)\*$/);
      expect(titles.filter((t) => /^\*Rollback in progress/.test(t ?? '')).length).toBeGreaterThanOrEqual(1);
      expect(titles.filter((t) => /^\*Rollback escalated to level 2 \(Operations Team\)/.test(t ?? ''))).toHaveLength(1);
      const start = hook.received[0]?.text ?? '';
      expect(start).toMatch(/\nReason: notification test\n/);
      expect(start).toMatch(/\nExpected impact: none\n/);
      expect(start).toMatch(/\nTime budget: 1 min\n/);
      expect(start).toMatch(/\nEscalation: Development Team \(@dev-oncall\)$/);
      const progress = hook.received.find((m) => m.text.includes('Rollback in progress'))?.text ?? '';
      expect(progress).toMatch(/Now: pause: Let the metrics settle/);
      const end = hook.received.at(-1)?.text ?? '';
      expect(end).toMatch(/\nDuration: [\d.]+ s of the 1 min budget/);
      expect(end).toMatch(/\nReport: \S+report\.md$/);
      expect(result.stderr).toMatch(/escalation level 2 \(1\.50 s\): involve the Operations Team: ops@example\.test/);
      const run = jsonOf<RunJson>(result);
      expect(journalEvents(run.journal as string).find((e) => e.type === 'run.escalated')).toMatchObject({
        level: 2,
        team: 'Operations Team',
        contacts: ['ops@example.test'],
      });
      // Secrets: the admin token and the webhook's path appear in no message, output or journal.
      const everything = [
        result.stdout,
        result.stderr,
        readFileSync(run.journal as string, 'utf8'),
        ...hook.received.map((m) => m.text),
      ].join('\n');
      expect(everything).not.toContain(sandbox.token);
      expect(everything).not.toContain('hook-secret-path-42');
    } finally {
      await hook.close();
    }
  });

  it('--notify URL adds a webhook for one run', async () => {
    const hook = await receiver();
    try {
      const result = await cli(['run', runbook, '--yes', '--notify', hook.url, '--config', sandbox.config]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(hook.received.map((m) => m.text.split('\n')[0]?.replace(/ \(.*$/, ''))).toEqual([
        '*Rollback started: A slow rollback',
        '*Rollback SUCCEEDED: A slow rollback',
      ]);
    } finally {
      await hook.close();
    }
  });

  it('a channel that is down or hangs changes neither the result nor the time by more than its retry bound, and is journaled', async () => {
    const hanging = await receiver(() => {}); // takes the request, never answers
    const down = await receiver();
    await down.close(); // connection refused from now on
    try {
      const config = configWith(
        'dead',
        `notify:\n  channels:\n    - { kind: webhook, url: "${hanging.url}" }\n    - { kind: webhook, url: "${down.url}" }\n`,
      );
      const started = Date.now();
      const result = await cli(['run', runbook, '--yes', '--json', '--config', config]);
      const wallMs = Date.now() - started;
      expect(result.exitCode, result.stderr).toBe(0);
      const run = jsonOf<RunJson & { duration_ms: number }>(result);
      expect(run.status).toBe('succeeded');
      // Two tries of at most 5 s and a 0.5 s pause: 10.5 s, plus the CLI's own start and the run.
      expect(wallMs - run.duration_ms).toBeLessThan(10_500 + 5_000);
      expect(result.stderr).toMatch(new RegExp(`the start notification to webhook 127\\.0\\.0\\.1:${hanging.port} failed after 2 tries`));
      expect(result.stderr).toMatch(new RegExp(`the end notification to webhook 127\\.0\\.0\\.1:${down.port} failed after 2 tries`));
      const failed = journalEvents(run.journal as string).filter((e) => e.type === 'notify.failed') as unknown as {
        channel: string;
        kind: string;
      }[];
      expect(failed.map((e) => `${e.kind} ${e.channel}`).sort()).toEqual(
        [
          `end webhook 127.0.0.1:${down.port}`,
          `end webhook 127.0.0.1:${hanging.port}`,
          `start webhook 127.0.0.1:${down.port}`,
          `start webhook 127.0.0.1:${hanging.port}`,
        ].sort(),
      );
      // The late notes follow the run's end, and the run still reads as finished.
      const runs = await cli(['runs', 'list', '--json', '--config', config]);
      expect(runs.stdout).toMatch(new RegExp(`"run_id": "${run.run_id}"[\\s\\S]*?"status": "succeeded"`));
    } finally {
      await hanging.close();
    }
  }, 40_000);

  it('a failed run with a failing channel still exits 1: each message is tried twice, and the failures are said and journaled', async () => {
    const refusing = await receiver((_req, res) => {
      res.writeHead(500);
      res.end('no');
    });
    await sandbox.stop(); // the rollback itself fails: the app is down
    try {
      const result = await cli(['flag', '--all', '--yes', '--json', '--notify', refusing.url, '--config', sandbox.config]);
      expect(result.exitCode, result.stderr).toBe(1);
      const run = jsonOf<RunJson>(result);
      expect(run.status).toBe('failed');
      // Two tries of each (the retries of the two messages may interleave).
      expect(refusing.received.map((m) => m.text.split('\n')[0]?.replace(/ \(.*$/, '')).sort()).toEqual([
        '*Rollback FAILED: Feature flag rollback',
        '*Rollback FAILED: Feature flag rollback',
        '*Rollback started: Feature flag rollback',
        '*Rollback started: Feature flag rollback',
      ]);
      expect(result.stderr).toMatch(/warning: the end notification to webhook 127\.0\.0\.1:\d+ failed after 2 tries: HTTP 500/);
      const failed = journalEvents(run.journal as string).filter((e) => e.type === 'notify.failed') as unknown as { kind: string }[];
      expect(failed.map((e) => e.kind)).toEqual(['start', 'end']);
      // The late note follows run.finished, and the run still reads as failed (resumable), not running.
      const runs = await cli(['runs', 'list', '--json', '--config', sandbox.config]);
      expect(runs.stdout).toMatch(new RegExp(`"run_id": "${run.run_id}"[\\s\\S]*?"status": "failed"`));
    } finally {
      await refusing.close();
      await sandbox.start();
    }
  });

  it('a webhook URL holding a user and password is refused (exit 2); a duration the config cannot read is one line, exit 2', async () => {
    const withUser = await cli([
      'flag',
      '--all',
      '--yes',
      '--notify',
      'http://ops:Pa55w0rdXYZ@127.0.0.1:9/hook',
      '--config',
      sandbox.config,
    ]);
    expect(withUser.exitCode).toBe(2);
    expect(withUser.stderr).toMatch(/a notification webhook URL must not hold a user or password/);
    expect(withUser.stderr).not.toContain('Pa55w0rdXYZ');
    const config = configWith('bad-duration', 'escalation:\n  - { after: 15min, team: Ops }\n');
    const bad = await cli(['status', '--config', config]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/escalation.*a duration such as 30s, 15m or 1h/);
    const noUser = configWith(
      'no-user',
      'notify:\n  channels:\n    - { kind: email, host: localhost, from: a@example.test, to: [b@example.test], password_file: /dev/null }\n',
    );
    const refused = await cli(['status', '--config', noUser]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/password_file needs a user to log in as/);
  });

  it('an SMTP server gets the start and end e-mails, authenticated with a password from a file that appears nowhere', async () => {
    const mails: { subject: string; to: string[]; body: string }[] = [];
    const logins: string[] = [];
    const smtp = new SMTPServer({
      authOptional: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        callback(null, { user: auth.username });
      },
      onData(stream, session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => {
          data += chunk.toString('utf8');
        });
        stream.on('end', () => {
          mails.push({ subject: /^Subject: (.*)$/m.exec(data)?.[1] ?? '', to: session.envelope.rcptTo.map((r) => r.address), body: data });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const { port } = smtp.server.address() as { port: number };
    const passwordFile = join(sandbox.dir, 'smtp-password');
    writeFileSync(passwordFile, 'smtp-pass-7f3a9c\n', { mode: 0o600 });
    try {
      const config = configWith(
        'email',
        `notify:\n  channels:\n    - { kind: email, host: 127.0.0.1, port: ${port}, from: rollback@example.test, to: [dev@example.test, ops@example.test], user: trimp, password_file: ${passwordFile}, starttls: off }\n`,
      );
      const result = await cli(['run', runbook, '--yes', '--reason', 'mail test', '--config', config]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(mails.map((m) => m.subject.replace(/ \(.*$/, ''))).toEqual([
        'Rollback started: A slow rollback',
        'Rollback SUCCEEDED: A slow rollback',
      ]);
      expect(mails[0]?.to).toEqual(['dev@example.test', 'ops@example.test']);
      expect(mails[0]?.body).toMatch(/Reason: mail test/);
      expect(logins[0]).toBe('trimp:smtp-pass-7f3a9c');
      const journal = /Journal: (\S+)/.exec(result.stdout)?.[1] as string;
      for (const text of [result.stdout, result.stderr, readFileSync(journal, 'utf8'), ...mails.map((m) => m.body)]) {
        expect(text).not.toContain('smtp-pass-7f3a9c');
        expect(text).not.toContain(sandbox.token);
      }
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it('the notice to users: shown by a dry run, sent through notify.users once confirmed (text and fields for an in-app banner), kept in the reports', async () => {
    const hook = await receiver();
    const team = await receiver();
    try {
      const notice = join(sandbox.dir, 'notice.yaml');
      writeFileSync(
        notice,
        [
          'version: 1',
          'id: notice',
          'title: A rollback users notice',
          'use_case: notice tests',
          'impact: downtime',
          'budget: 20m',
          'steps:',
          '  - id: draft',
          '    title: Draft the notice',
          '    action: users.draft-notice',
          '    with: { what_happened: we are putting the previous version back, may_notice: the app may be unavailable for a few minutes }',
          '  - { id: tell, title: Tell users, action: users.notify, optional: true }',
          '',
        ].join('\n'),
      );
      const config = configWith(
        'users',
        `notify:\n  channels:\n    - { kind: webhook, url: "${team.url}" }\n  users:\n    - { kind: webhook, url: "${hook.url}" }\n`,
      );
      const dry = await cli(['run', notice, '--dry-run', '--config', config]);
      expect(dry.exitCode, dry.stderr).toBe(0);
      // The dry run drafts the notice for real (read-only) and says where it would go.
      expect(dry.stderr + dry.stdout).toMatch(/drafted \(in the report\): expected resolution by \d\d:\d\d UTC/);
      expect(dry.stderr + dry.stdout).toMatch(
        /send the drafted notice to users via webhook 127\.0\.0\.1:\d+ \(one try each, at most 5 s\)/,
      );
      expect(hook.received).toHaveLength(0);

      const result = await cli(['run', notice, '--yes', '--json', '--config', config]);
      expect(result.exitCode, result.stderr).toBe(0);
      const run = jsonOf<RunJson>(result);
      expect(run.steps.map((x) => x.status)).toEqual(['succeeded', 'succeeded']);
      expect(run.steps[1]?.summary).toMatch(/^notice sent to users via webhook 127\.0\.0\.1:\d+$/);
      expect(hook.received).toHaveLength(1);
      const sent = hook.received[0] as Received;
      expect(sent.text).toMatch(
        /^\*Service notice: a short interruption while we fix a problem\*\nWe are putting the previous version back\. The app may be unavailable for a few minutes\./,
      );
      // 20 minutes after the run began, by hand: the started_at of the run plus the runbook's budget.
      const by = new Date(Date.parse(run.started_at) + 20 * 60_000);
      expect(sent.json.notice).toMatchObject({ expected_resolution: by.toISOString(), id: run.run_id });
      expect(sent.text).toContain(`back to normal by ${by.toISOString().slice(11, 16)} UTC`);
      // The team's channel hears about the run, not the users' notice.
      expect(team.received.some((m) => m.text.includes('Service notice'))).toBe(false);
      const dir = dirname(run.journal as string);
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('> We are putting the previous version back.');
      expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<blockquote class="notice">');
      expect(journalEvents(run.journal as string).find((e) => e.name === 'user_notice')?.data).toMatchObject({
        expected_resolution: by.toISOString(),
      });
      for (const text of [
        result.stdout,
        result.stderr,
        readFileSync(run.journal as string, 'utf8'),
        readFileSync(join(dir, 'report.html'), 'utf8'),
      ])
        expect(text).not.toContain('hook-secret-path-42');

      // A users' channel that refuses it: the step warns, the run goes on and succeeds, the report has the text to send by hand.
      const refusing = await receiver((_q, res) => {
        res.statusCode = 500;
        res.end('no');
      });
      try {
        const broken = configWith('users-broken', `notify:\n  users:\n    - { kind: webhook, url: "${refusing.url}" }\n`);
        const failed = await cli(['run', notice, '--yes', '--json', '--config', broken], { timeoutMs: 90_000 });
        expect(failed.exitCode, failed.stderr).toBe(0);
        const step = jsonOf<RunJson>(failed).steps[1];
        expect(step?.status).toBe('warned');
        expect(step?.summary).toMatch(/^notice not delivered via webhook 127\.0\.0\.1:\d+: send it by hand \(it is in the report\)$/);
        expect(step?.warnings?.[0]).toMatch(/HTTP 500/);
        // One try: a retry after a slow answer would show users the notice twice.
        expect(refusing.received).toHaveLength(1);
        const page = readFileSync(join(dirname(jsonOf<RunJson>(failed).journal as string), 'report.md'), 'utf8');
        expect(page).toContain('> We are putting the previous version back.');
      } finally {
        await refusing.close();
      }
    } finally {
      await hook.close();
      await team.close();
    }
  });

  it('a flag rollback is transparent: nothing is sent to users, even with notify.users set, unless --notify-users asks', async () => {
    const hook = await receiver();
    try {
      const config = configWith('users-flag', `notify:\n  users:\n    - { kind: webhook, url: "${hook.url}" }\n`);
      const quiet = await cli(['flag', '--all', '--yes', '--json', '--config', config]);
      expect(quiet.exitCode, quiet.stderr).toBe(0);
      const step = jsonOf<RunJson>(quiet).steps.find((s) => s.id === 'notify-users');
      expect(step?.status).toBe('skipped');
      expect(step?.summary).toMatch(/transparent to users/);
      expect(hook.received).toHaveLength(0);
      expect(readFileSync(join(dirname(jsonOf<RunJson>(quiet).journal as string), 'report.md'), 'utf8')).not.toContain('Notice to users');

      const asked = await cli(['flag', '--all', '--yes', '--json', '--notify-users', '--config', config]);
      expect(asked.exitCode, asked.stderr).toBe(0);
      expect(jsonOf<RunJson>(asked).steps.find((s) => s.id === 'notify-users')?.status).toBe('succeeded');
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]?.text).toMatch(/switched back to the previous calculation/);
    } finally {
      await hook.close();
      await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
    }
  });

  it('the notice to an e-mail list: one mail to every address on notify.users', async () => {
    const mails: { subject: string; to: string[] }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => {
          data += chunk.toString('utf8');
        });
        stream.on('end', () => {
          mails.push({ subject: /^Subject: (.*)$/m.exec(data)?.[1] ?? '', to: session.envelope.rcptTo.map((r) => r.address) });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const { port } = smtp.server.address() as { port: number };
    try {
      const config = configWith(
        'users-mail',
        `notify:\n  users:\n    - { kind: email, host: 127.0.0.1, port: ${port}, from: status@example.test, to: [users@example.test, banner@example.test], starttls: off }\n`,
      );
      const result = await cli(['flag', '--all', '--yes', '--json', '--notify-users', '--config', config]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(mails).toEqual([
        { subject: 'Service notice: a short interruption while we fix a problem', to: ['users@example.test', 'banner@example.test'] },
      ]);
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
      await cli(['flag', '--all', '--enable', '--yes', '--config', sandbox.config]);
    }
  });
});

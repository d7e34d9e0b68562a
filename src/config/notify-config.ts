import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { usageError } from '../errors.js';
import { parseDuration } from './duration.js';
import { registerSecret, Secret } from './secret.js';

/**
 * `notify:` and `escalation:` in the config file: who hears about a rollback, how often, and whom
 * to involve as it runs long. Secrets (a webhook's path, an SMTP password) come from the file or
 * the environment and are registered for redaction the moment they are read.
 */
const duration = (min: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as 30s, 15m or 1h')
    .refine((text) => {
      try {
        return parseDuration(text) >= min && parseDuration(text) <= 24 * 3_600_000;
      } catch {
        return false; // the regex said why
      }
    }, `between ${min} ms and 24 h`);

const webhook = z.object({ kind: z.literal('webhook'), url: z.url().max(4096) }).strict();
const email = z
  .object({
    kind: z.literal('email'),
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65_535).default(587),
    from: z.email(),
    to: z.array(z.email()).min(1).max(100),
    user: z.string().min(1).max(255).optional(),
    /** The SMTP password: a file (mode 0600), or TRIMP_SMTP_PASSWORD. */
    password_file: z.string().min(1).max(4096).optional(),
    /** auto: STARTTLS where offered (required when a user logs in); required: always; off: plain, even with a password. */
    starttls: z.enum(['auto', 'required', 'off']).default('auto'),
  })
  .strict()
  .refine((c) => c.password_file === undefined || c.user !== undefined, {
    message: 'password_file needs a user to log in as',
    path: ['user'],
  });

const channels = z
  .array(z.discriminatedUnion('kind', [webhook, email]))
  .max(20)
  .default([]);

export const notifySchema = z
  .object({
    every: duration(1000).default('15m'),
    channels,
    /** Where the notice to users goes (an e-mail list, a webhook the app turns into an in-app banner). */
    users: channels,
  })
  .strict();

export const escalationSchema = z
  .array(
    z
      .object({
        after: duration(0),
        team: z.string().min(1).max(200),
        contacts: z.array(z.string().min(1).max(200)).max(50).default([]),
      })
      .strict(),
  )
  .min(1)
  .max(10);

export interface WebhookChannelConfig {
  kind: 'webhook';
  url: Secret;
  /** How the channel is named in output: the host only (a webhook's path is its secret). */
  label: string;
}

export interface EmailChannelConfig {
  kind: 'email';
  host: string;
  port: number;
  from: string;
  to: string[];
  user: string | undefined;
  password: Secret | undefined;
  starttls: 'auto' | 'required' | 'off';
  label: string;
}

export type ChannelConfig = WebhookChannelConfig | EmailChannelConfig;

export interface EscalationLevel {
  afterMs: number;
  team: string;
  contacts: string[];
}

export interface NotifySettings {
  everyMs: number;
  channels: ChannelConfig[];
  /** notify.users: the channels a user notice is sent through, after confirmation. */
  users: ChannelConfig[];
  escalation: EscalationLevel[];
}

/** The seed's escalation path: development (0–15 min), operations (15–30), management (30+). */
export const SEED_ESCALATION: EscalationLevel[] = [
  { afterMs: 0, team: 'Development Team', contacts: [] },
  { afterMs: 15 * 60_000, team: 'Operations Team', contacts: [] },
  { afterMs: 30 * 60_000, team: 'Management Team', contacts: [] },
];

export function notifySettingsOf(
  notify: z.output<typeof notifySchema> | undefined,
  escalation: z.output<typeof escalationSchema> | undefined,
  fileDir: string,
  env: NodeJS.ProcessEnv,
): NotifySettings {
  return {
    everyMs: parseDuration(notify?.every ?? '15m'),
    channels: (notify?.channels ?? []).map((channel, index) =>
      channel.kind === 'webhook' ? webhookChannel(channel.url) : emailChannel(channel, `notify.channels[${index}]`, fileDir, env),
    ),
    users: (notify?.users ?? []).map((channel, index) =>
      channel.kind === 'webhook' ? webhookChannel(channel.url) : emailChannel(channel, `notify.users[${index}]`, fileDir, env),
    ),
    escalation: escalation
      ? escalation
          .map((level) => ({ afterMs: parseDuration(level.after), team: level.team, contacts: level.contacts }))
          .sort((a, b) => a.afterMs - b.afterMs)
      : SEED_ESCALATION,
  };
}

/** A webhook given on the command line (--notify URL) for one run. */
export function webhookChannel(url: string): WebhookChannelConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw usageError('notify-invalid', 'a notification webhook must be an http(s) URL', 'check --notify or notify.channels');
  }
  if (parsed.username || parsed.password)
    throw usageError(
      'notify-invalid',
      'a notification webhook URL must not hold a user or password',
      'use a webhook whose secret is in its path, in the config file',
    );
  // Slack's and Teams' webhook URLs carry their secret in the path: the segments that look like
  // one (long, with a digit) are masked everywhere; words such as "hooks" stay readable.
  for (const segment of `${parsed.pathname}${parsed.search}`.split(/[/?&=]/))
    if (segment.length >= 12 && /\d/.test(segment)) registerSecret(new Secret(segment, 'webhook path'));
  return { kind: 'webhook', url: new Secret(url, 'webhook URL'), label: `webhook ${parsed.host}` };
}

function emailChannel(channel: z.output<typeof email>, where: string, fileDir: string, env: NodeJS.ProcessEnv): EmailChannelConfig {
  let password: Secret | undefined;
  if (channel.password_file) {
    const path = resolve(fileDir, channel.password_file);
    try {
      if (!statSync(path).isFile()) throw new Error('not a file');
      password = new Secret(readFileSync(path, 'utf8').trim(), `${where}.password_file`);
    } catch {
      throw usageError('notify-invalid', `the SMTP password file cannot be read: ${path}`, `check ${where}.password_file`);
    }
  } else if (env.TRIMP_SMTP_PASSWORD) password = new Secret(env.TRIMP_SMTP_PASSWORD, 'TRIMP_SMTP_PASSWORD');
  registerSecret(password);
  return {
    kind: 'email',
    host: channel.host,
    port: channel.port,
    from: channel.from,
    to: channel.to,
    user: channel.user,
    password,
    starttls: channel.starttls,
    label: `e-mail via ${channel.host}:${channel.port}`,
  };
}

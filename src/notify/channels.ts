import type { ChannelConfig, EmailChannelConfig, WebhookChannelConfig } from '../config/notify-config.js';
import type { Message } from './messages.js';

/** Somewhere a message can go. `send` rejects when it did not arrive; the caller retries and gives up. */
export interface Channel {
  label: string;
  send(message: Message, timeoutMs: number): Promise<void>;
}

export function channelFor(config: ChannelConfig): Channel {
  return config.kind === 'webhook' ? webhook(config) : email(config);
}

/** Slack's incoming-webhook JSON ({"text": ...}); Teams' connector accepts the same. */
function webhook(config: WebhookChannelConfig): Channel {
  return {
    label: config.label,
    async send(message, timeoutMs) {
      const response = await fetch(config.url.reveal(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'trimp-rollback' },
        body: JSON.stringify({ text: `*${message.title}*\n${message.text}`, ...message.data }),
        signal: AbortSignal.timeout(timeoutMs),
        // A message goes where it was configured to go, not wherever a redirect points.
        redirect: 'error',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    },
  };
}

/** SMTP through nodemailer (loaded on first use), STARTTLS where offered unless told otherwise. */
function email(config: EmailChannelConfig): Channel {
  let transport: Promise<import('nodemailer').Transporter> | undefined;
  const open = (timeoutMs: number) => {
    transport ??= import('nodemailer').then((nodemailer) =>
      nodemailer.createTransport({
        host: config.host,
        port: config.port,
        secure: config.port === 465,
        // A password goes over TLS only: with a user, "auto" requires STARTTLS (a server that does
        // not offer it, or an attacker who strips it, gets no AUTH line); "off" says plain is meant.
        requireTLS: config.starttls === 'required' || (config.starttls === 'auto' && config.user !== undefined),
        ignoreTLS: config.starttls === 'off',
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        ...(config.user ? { auth: { user: config.user, pass: config.password?.reveal() ?? '' } } : {}),
      }),
    );
    return transport;
  };
  return {
    label: config.label,
    async send(message, timeoutMs) {
      const mailer = await open(timeoutMs);
      try {
        await mailer.sendMail({ from: config.from, to: config.to, subject: message.title, text: message.text });
      } catch (error) {
        // A server's answer may echo what it was sent (an AUTH line holds the password, base64):
        // only the code and the reply number are said.
        const e = error as { code?: string; responseCode?: number; command?: string };
        transport = undefined;
        throw new Error(
          `SMTP ${e.code ?? 'error'}${e.responseCode ? ` ${e.responseCode}` : ''}${e.command ? ` at ${e.command.split(' ')[0]}` : ''}`,
        );
      }
    },
  };
}

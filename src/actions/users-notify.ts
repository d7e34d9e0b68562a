import { z } from 'zod';
import { messageOf } from '../errors.js';
import { deliver } from '../notify/notifier.js';
import { draftUserNotice, noticeMessage, type UserNotice } from '../notify/user-notice.js';
import { defineAction } from './action.js';
import { RESTORE_SOURCE, type RestoreSource } from './restore-source.js';

export const USER_NOTICE = 'user_notice';

/** False in a flag rollback: transparent to users, so no notice unless asked (--notify-users). */
const send = z.boolean().default(true);
const TRANSPARENT = 'transparent to users (the seed: no user communication needed); --notify-users sends a notice anyway';

const draftParams = z
  .object({
    /** What happened, in one sentence users understand. */
    what_happened: z.string().min(1).max(500),
    /** What users may notice meanwhile (downtime, data restored). */
    may_notice: z.string().min(1).max(500),
    /** Say the time the data goes back to (the backup chosen earlier in the run). */
    restore_point: z.boolean().default(false),
    send,
  })
  .strict();
type DraftParams = z.output<typeof draftParams>;

/**
 * The seed's user communication for a rollback that affects users, drafted from the runbook's
 * words and the run's facts (the expected resolution time from the time budget, the restore
 * point) and journaled: read-only, so a dry run shows the text, and the report has it whether or
 * not it is sent (declined, no channel, a channel that refuses it).
 */
export const usersDraftNotice = defineAction<DraftParams>({
  name: 'users.draft-notice',
  description: 'Draft the notice to users (what happened, what they may notice, when it will be resolved) into the journal and the report.',
  rehearsal: 'probe',
  confirm: false,
  params: draftParams,
  leftOut: (p) => (p.send ? undefined : TRANSPARENT),
  describe: ({ what_happened }) => [
    { kind: 'file', text: `draft the notice to users: "${what_happened}" …, with the expected resolution time` },
  ],
  async run(p, ctx) {
    const source = p.restore_point ? (ctx.run.observed.get(RESTORE_SOURCE) as RestoreSource | undefined) : undefined;
    const notice = draftUserNotice({
      whatHappened: p.what_happened,
      mayNotice: p.may_notice,
      startedAt: ctx.run.startedAt,
      budgetMs: ctx.run.budgetMs,
      restorePoint: source ? new Date(source.created_at) : undefined,
    });
    ctx.observe(USER_NOTICE, notice);
    const by = notice.expected_resolution.slice(11, 16);
    return { status: 'succeeded', summary: `drafted (in the report): expected resolution by ${by} UTC`, evidence: { notice } };
  },
});

const sendParams = z.object({ send }).strict();
type SendParams = z.output<typeof sendParams>;

/**
 * Sends the drafted notice through notify.users, once confirmed. One try per channel, bounded
 * (5 s): a second try after a slow answer would show users the notice twice. A channel that does
 * not take it is a warning: the rollback goes on, and the report holds the text to send by hand.
 * Without a channel there is nothing to send, and nothing is asked.
 */
export const usersNotify = defineAction<SendParams>({
  name: 'users.notify',
  description: 'Send the drafted notice to users through notify.users (an e-mail list, a webhook the app shows as a banner).',
  rehearsal: 'print',
  confirm: true,
  params: sendParams,
  leftOut: (p) => (p.send ? undefined : TRANSPARENT),
  describe: (_p, info) => [
    info.userChannels.length > 0
      ? { kind: 'http', text: `send the drafted notice to users via ${info.userChannels.join(', ')} (one try each, at most 5 s)` }
      : { kind: 'http', text: 'no notify.users channel: nothing is sent (the notice is in the report)' },
  ],
  async reconcile(_p, ctx) {
    const none = ctx.target.userChannels.length === 0;
    return { done: none, summary: none ? 'no notify.users channel: the notice is in the report, to send by hand' : 'not sent yet' };
  },
  async run(_p, ctx) {
    const notice = ctx.run.observed.get(USER_NOTICE) as UserNotice | undefined;
    if (!notice) return { status: 'failed', summary: 'no drafted notice to send: the draft step did not run in this run' };
    const message = noticeMessage({ ...notice }, ctx.info.runId);
    const results = await Promise.all(
      ctx.target.userChannels.map((channel) =>
        deliver(channel, message, 1).then(
          () => ({ channel: channel.label, ok: true as const }),
          (error: unknown) => ({ channel: channel.label, ok: false as const, error: messageOf(error) }),
        ),
      ),
    );
    const failed = results.filter((r) => !r.ok);
    const sent = results.filter((r) => r.ok).map((r) => r.channel);
    const evidence = { sent: results };
    if (failed.length === 0) return { status: 'succeeded', summary: `notice sent to users via ${sent.join(', ')}`, evidence };
    return {
      status: 'warned',
      summary: `notice ${sent.length ? `sent via ${sent.join(', ')}, but not` : 'not'} delivered via ${failed.map((f) => f.channel).join(', ')}: send it by hand (it is in the report)`,
      evidence,
      warnings: failed.map((f) => `${f.channel}: ${'error' in f ? f.error : ''}`),
    };
  },
});

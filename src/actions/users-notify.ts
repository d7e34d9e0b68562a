import { z } from 'zod';
import { messageOf } from '../errors.js';
import { deliver } from '../notify/notifier.js';
import { draftUserNotice, noticeMessage } from '../notify/user-notice.js';
import { defineAction } from './action.js';
import { RESTORE_SOURCE, type RestoreSource } from './restore-source.js';

const params = z
  .object({
    /** What happened, in one sentence users understand. */
    what_happened: z.string().min(1).max(500),
    /** What users may notice meanwhile (downtime, data restored). */
    may_notice: z.string().min(1).max(500),
    /** Say the time the data goes back to (the backup chosen earlier in the run). */
    restore_point: z.boolean().default(false),
    /** False: the rollback is transparent to users (a flag rollback): no notice unless asked. */
    send: z.boolean().default(true),
  })
  .strict();
type Params = z.output<typeof params>;

export const USER_NOTICE = 'user_notice';

/**
 * The seed's user communication for a rollback that affects users: a notice drafted from the
 * runbook's words and the run's facts (the expected resolution time from the time budget, the
 * restore point), journaled and put in the report, and sent through notify.users once the
 * operator confirms. A channel that does not take it is a warning: the rollback goes on, and the
 * report holds the text to send by hand.
 */
export const usersNotify = defineAction<Params>({
  name: 'users.notify',
  description:
    'Draft the notice to users (what happened, what they may notice, when it will be resolved) and send it through notify.users.',
  rehearsal: 'print',
  confirm: true,
  params,
  leftOut: ({ send }) =>
    send ? undefined : 'transparent to users (the seed: no user communication needed); --notify-users sends a notice anyway',
  describe: ({ what_happened }, info) => [
    info.userChannels.length > 0
      ? { kind: 'http', text: `send a notice to users via ${info.userChannels.join(', ')}: "${what_happened}" …` }
      : { kind: 'file', text: `draft a notice to users into the report ("${what_happened}" …); no notify.users channel: nothing is sent` },
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
    const channels = ctx.target.userChannels;
    if (channels.length === 0)
      return {
        status: 'skipped',
        summary: 'notice drafted into the report; not sent: no notify.users channel in the config',
        evidence: { notice, sent: [] },
      };
    const results = await Promise.all(
      channels.map((channel) =>
        deliver(channel, noticeMessage(notice)).then(
          () => ({ channel: channel.label, ok: true as const }),
          (error: unknown) => ({ channel: channel.label, ok: false as const, error: messageOf(error) }),
        ),
      ),
    );
    const failed = results.filter((r) => !r.ok);
    const sent = results.filter((r) => r.ok).map((r) => r.channel);
    const evidence = { notice, sent: results };
    if (failed.length === 0) return { status: 'succeeded', summary: `notice sent to users via ${sent.join(', ')}`, evidence };
    return {
      status: 'warned',
      summary: `notice ${sent.length ? `sent via ${sent.join(', ')}, but not` : 'not'} delivered via ${failed.map((f) => f.channel).join(', ')}: send it by hand (it is in the report)`,
      evidence,
      warnings: failed.map((f) => `${f.channel}: ${'error' in f ? f.error : ''}`),
    };
  },
});

import { formatMs } from '../report/format.js';
import type { Message } from './messages.js';

/** The notice to users, as drafted into the report and sent through notify.users. */
export interface UserNotice {
  title: string;
  text: string;
  /** When users may expect things back to normal: the run's start plus its time budget (ISO). */
  expected_resolution: string;
}

export interface NoticeFacts {
  /** What happened, in one sentence (the runbook's). */
  whatHappened: string;
  /** What users may notice meanwhile (the runbook's). */
  mayNotice: string;
  startedAt: Date;
  budgetMs: number;
  /** The time the data goes back to, when the rollback restores a backup. */
  restorePoint?: Date | undefined;
}

/**
 * The seed's user communication, "if rollback affects users": a brief explanation and the
 * expected resolution time, professional and reassuring. Times are in UTC and say so.
 */
export function draftUserNotice(facts: NoticeFacts): UserNotice {
  const by = new Date(facts.startedAt.getTime() + facts.budgetMs);
  const restore = facts.restorePoint
    ? `To keep your data consistent, it is being restored as it was at ${utc(facts.restorePoint)}; anything you recorded after that time may need to be recorded again.`
    : 'Your training data is safe.';
  return {
    title: 'Service notice: a short interruption while we fix a problem',
    text: [
      `${sentence(facts.whatHappened)} ${sentence(facts.mayNotice)}`,
      restore,
      `We expect everything to be back to normal by ${utc(by)} (within ${formatMs(facts.budgetMs)}).`,
      'Thank you for your patience, and we are sorry for the inconvenience.',
    ].join('\n\n'),
    expected_resolution: by.toISOString(),
  };
}

/** `id` (the run's) lets an app that shows the notice as a banner show it once, however often it arrives. */
export function noticeMessage(notice: UserNotice, id: string): Message {
  return { kind: 'user-notice', title: notice.title, text: notice.text, data: { notice: { ...notice, id } } };
}

/** "14:35 UTC on 29 Nov 2026". */
function utc(date: Date): string {
  const month = date.toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' });
  const hhmm = date.toISOString().slice(11, 16);
  return `${hhmm} UTC on ${date.getUTCDate()} ${month} ${date.getUTCFullYear()}`;
}

/** A runbook's phrase as a sentence: capitalised, ending in a full stop. */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

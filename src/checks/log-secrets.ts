import { type CheckDefinition, fail, pass } from './check.js';
import { noLogs } from './no-logs.js';

/**
 * Secrets an app writes into its own logs: password hashes (the public app logs the user's row,
 * hash included, at every login) and database URLs with their password (it prints the start of
 * DATABASE_URL at start-up). Each kind is a pattern of the secret's shape, never of a value.
 */
const KINDS: { kind: string; pattern: RegExp }[] = [
  { kind: 'password hash (werkzeug)', pattern: /\b(?:pbkdf2:sha\d+|scrypt):[^\s$'"]*\$[A-Za-z0-9./+]{4,}\$[0-9a-f]{16,}/ },
  { kind: 'password hash (bcrypt)', pattern: /\$2[aby]\$\d{2}\$[./A-Za-z0-9]{22,}/ },
  { kind: 'password hash (argon2)', pattern: /\$argon2(?:id|i|d)\$v=\d+\$/ },
  { kind: 'database URL with a password', pattern: /\b[a-z][a-z0-9+]*:\/\/[^\s:/@'"]+:[^\s@/'"]+@/i },
  // The app prints only the start of DATABASE_URL: cut inside the password, there is no @ to find.
  {
    kind: 'database URL with a password',
    pattern: /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|amqps?):\/\/[^\s:/@'"]+:[^\s/'"]{3,}/i,
  },
  { kind: 'database password (key=value)', pattern: /\bpassword=(?!\*\*\*)[^\s'"&;]+/i },
];

/** The line with each secret of those kinds masked: what a log bundle made to be shared holds. */
export function maskLogSecrets(line: string): string {
  let out = line;
  for (const { pattern } of KINDS) out = out.replace(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`), '***');
  return out;
}

/** How much of each log is read: its end, where a run's time is. */
const TAIL_BYTES = 8 * 1024 * 1024;

export const logsNoSecrets: CheckDefinition = {
  name: 'logs-no-secrets',
  group: 'system-health',
  title: 'No secrets in the logs',
  async run(ctx) {
    const sources = await ctx.target.logs.tails(TAIL_BYTES);
    if (!sources) return noLogs(ctx);
    const names = sources.map((s) => s.source);
    const found: { file: string; line: number; kind: string }[] = [];
    for (const { source: name, lines } of sources) {
      for (const [index, text] of lines.entries()) {
        const hit = KINDS.find((k) => k.pattern.test(text));
        if (hit) found.push({ file: name, line: index + 1, kind: hit.kind });
      }
    }
    // Where and what kind, never the line: repeating it would put the secret in the journal too.
    const evidence = { files: names, found: found.slice(0, 20), count: found.length };
    if (found.length === 0)
      return pass(
        `none found in ${names.length} log file(s): ${names.join(', ')} (the last ${TAIL_BYTES / 1024 / 1024} MiB of each)`,
        evidence,
      );
    const kinds = [...new Set(found.map((f) => f.kind))];
    const where = [...new Set(found.map((f) => f.file))].map((file) => {
      const lines = found.filter((f) => f.file === file).map((f) => f.line);
      return `${file} (line${lines.length > 1 ? 's' : ''} ${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ', …' : ''})`;
    });
    return fail(
      `${found.length} log line(s) hold a secret: ${kinds.join(', ')}, in ${where.join('; ')}`,
      'stop the app from logging them, rotate what leaked (passwords, the database password), and purge those lines where the logs are kept',
      evidence,
    );
  },
};

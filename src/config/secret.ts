/**
 * The admin token. It is held in a private field so that logging, JSON-serialising or
 * string-interpolating the object never shows it; only `reveal()` does, at the HTTP call.
 */
export class Secret {
  readonly #value: string;
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '***';
  }

  toJSON(): string {
    return `<redacted, from ${this.source}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(<redacted, from ${this.source}>)`;
  }
}

export const REDACTED = '***';

/** Shorter values are not redacted: replacing every "ab" in the output would garble it. */
const MIN_SECRET_LENGTH = 4;

/**
 * Every secret this process has read. Whatever leaves the process (terminal, JSON, JUnit,
 * GitHub, journal, report) is passed through `redactText` or `redactValue` with these.
 */
const registered = new Set<string>();

export function registerSecret(secret: Secret | undefined): void {
  const value = secret?.reveal();
  if (value && value.length >= MIN_SECRET_LENGTH) registered.add(value);
}

/** The shortest piece of a secret that is still redacted (a server may echo part of it). */
const MIN_PIECE = 8;

/**
 * The forms a secret takes in text: raw, and as JSON, XML (with and without quotes escaped),
 * URLs and shells escape it; a token holding `"`, `\`, `<` or `%` is no longer the same string
 * once serialised.
 */
function formsOf(value: string): string[] {
  const xmlText = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const forms = [
    value,
    JSON.stringify(value).slice(1, -1),
    xmlText,
    xmlText.replace(/"/g, '&quot;').replace(/'/g, '&apos;'),
    encodeURIComponent(value),
    value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'),
  ];
  return [...new Set(forms)];
}

/**
 * Replaces every occurrence of a registered secret in text: whole, in any of its forms, and any
 * piece of it of 8 characters or more (an echo cut short by a server, or split by whitespace).
 * Overlapping matches of different forms become one `***`.
 */
export function redactText(text: string, secrets: Iterable<string> = registered): string {
  const ranges: [number, number][] = [];
  for (const secret of secrets) for (const form of formsOf(secret)) ranges.push(...pieceRanges(text, form));
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let cursor = 0;
  for (const [start, end] of ranges) {
    if (end <= cursor) continue;
    if (start >= cursor) out += `${text.slice(cursor, start)}${REDACTED}`;
    cursor = end;
  }
  return out + text.slice(cursor);
}

/** Where `text` holds `form`, or a piece of it of MIN_PIECE characters or more, as [start, end). */
function pieceRanges(text: string, form: string): [number, number][] {
  const ranges: [number, number][] = [];
  for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + form.length)) ranges.push([at, at + form.length]);
  if (form.length < MIN_PIECE) return ranges;
  for (let i = 0; i + MIN_PIECE <= form.length; i++) {
    const piece = form.slice(i, i + MIN_PIECE);
    // A piece of letters only could be a word of our own output ("interrup" in "interrupted" for
    // a token "interrupt-token"): pieces must hold a digit or a symbol. The whole token always counts.
    if (/^[A-Za-z]+$/.test(piece)) continue;
    for (let at = text.indexOf(piece); at !== -1; at = text.indexOf(piece, at + 1)) {
      // Grow the match both ways while text and secret agree.
      let start = at;
      let j = i;
      while (start > 0 && j > 0 && text[start - 1] === form[j - 1]) {
        start -= 1;
        j -= 1;
      }
      let end = at + MIN_PIECE;
      let k = i + MIN_PIECE;
      while (end < text.length && k < form.length && text[end] === form[k]) {
        end += 1;
        k += 1;
      }
      ranges.push([start, end]);
    }
  }
  return ranges;
}

/** A deep copy with every string (keys too) redacted: applied to raw values before they are serialised. */
export function redactValue<T>(value: T, secrets: Iterable<string> = registered, seen = new WeakMap<object, unknown>()): T {
  if (typeof value === 'string') return redactText(value, secrets) as T;
  if (value instanceof Secret) return value.toJSON() as T;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value) as T;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) copy.push(redactValue(item, secrets, seen));
    return copy as T;
  }
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const [key, item] of Object.entries(value)) copy[redactText(key, secrets)] = redactValue(item, secrets, seen);
  return copy as T;
}

/** Environment variables that hold secrets: no child process (git, the sandbox) inherits them. */
const SECRET_ENV = ['TRIMP_ADMIN_TOKEN', 'TRIMP_ADMIN_PASSWORD', 'PGPASSWORD'];

export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of SECRET_ENV) delete copy[name];
  return copy;
}

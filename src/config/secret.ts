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

/**
 * The forms a secret takes in text: raw, and escaped as JSON and XML would escape it (a token
 * holding `"`, `\` or `<` is no longer the same string once serialised).
 */
function formsOf(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const xml = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return [...new Set([value, json, xml])].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of a registered secret (in any of its forms) in text. */
export function redactText(text: string, secrets: Iterable<string> = registered): string {
  let out = text;
  for (const secret of secrets) for (const form of formsOf(secret)) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

/** A deep copy with every string redacted: applied to raw values before they are serialised. */
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
  for (const [key, item] of Object.entries(value)) copy[key] = redactValue(item, secrets, seen);
  return copy as T;
}

/** Environment variables that hold secrets: no child process (git, the sandbox) inherits them. */
const SECRET_ENV = ['TRIMP_ADMIN_TOKEN', 'TRIMP_ADMIN_PASSWORD', 'PGPASSWORD'];

export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of SECRET_ENV) delete copy[name];
  return copy;
}

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

/** Replaces every occurrence of the secrets' values in text bound for output or a journal. */
export function redact(text: string, secrets: readonly (Secret | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    const value = secret?.reveal();
    if (value && value.length >= 4) out = out.split(value).join('***');
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import { redactText, redactValue, Secret } from '../../src/config/secret.js';

const TOKEN = 'zqXa"Lw\\pR<Tk>&Ms%Ny-QWERTYUIOPasdfghjk';
const secrets = [TOKEN];

describe('redaction', () => {
  it.each([
    ['raw', TOKEN],
    ['JSON-escaped', JSON.stringify(TOKEN).slice(1, -1)],
    ['XML text (quotes left alone)', TOKEN.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')],
    ['XML attribute', TOKEN.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')],
    ['URL-encoded', encodeURIComponent(TOKEN)],
    ['GitHub-escaped', TOKEN.replace(/%/g, '%25')],
  ])('removes the token %s', (_name, form) => {
    const out = redactText(`before ${form} after`, secrets);
    expect(out).toBe('before *** after');
  });

  it('removes a piece of 8 characters or more: an echo cut short, or split by whitespace', () => {
    expect(redactText(`Bearer ${TOKEN.slice(0, 12)}…`, secrets)).toBe('Bearer ***…');
    expect(redactText(`x ${TOKEN.slice(10, 30)} y`, secrets)).toBe('x *** y');
    const split = `${TOKEN.slice(0, 15)} ${TOKEN.slice(15)}`;
    expect(redactText(split, secrets)).toBe('*** ***');
    expect(redactText('QWERTY is a keyboard', secrets)).toBe('QWERTY is a keyboard'); // 6 characters: left alone
  });

  it('never turns our own words into ***: pieces of letters only do not count, the whole token does', () => {
    const wordy = ['interrupt-test-token'];
    expect(redactText('{"type":"run.interrupted"}', wordy)).toBe('{"type":"run.interrupted"}');
    expect(redactText('Bearer interrupt-test-token', wordy)).toBe('Bearer ***');
    expect(redactText('echo: interrupt-test-to…', wordy)).toBe('echo: ***…');
    expect(redactText('wordonlytoken here', ['wordonlytoken'])).toBe('*** here');
  });

  it('redacts object keys and values, deep, and Secret objects, before serialising', () => {
    const value = { [TOKEN]: 1, nested: [{ text: `echo: ${TOKEN}` }], secret: new Secret(TOKEN, 'TRIMP_ADMIN_TOKEN') };
    const json = JSON.stringify(redactValue(value, secrets));
    expect(json).not.toContain('QWERTYUI');
    expect(JSON.parse(json)).toEqual({ '***': 1, nested: [{ text: 'echo: ***' }], secret: '<redacted, from TRIMP_ADMIN_TOKEN>' });
  });
});

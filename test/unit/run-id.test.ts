import { describe, expect, it } from 'vitest';
import { commandLine, shellQuote } from '../../src/commands/printed-commands.js';
import { newRunId, runIdTime } from '../../src/engine/run-id.js';

describe('run ids', () => {
  it('sort by time to the millisecond, whatever their random suffix', () => {
    const base = Date.parse('2026-11-29T03:15:02.000Z');
    const ids = Array.from({ length: 200 }, (_, i) => newRunId('flag', new Date(base + i)));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^20261129T031502\.000Z-flag-[0-9a-f]{4}$/);
  });

  it('say when they started, for ids of this and earlier versions', () => {
    expect(runIdTime('20261129T031502.123Z-flag-3f9a')?.toISOString()).toBe('2026-11-29T03:15:02.123Z');
    expect(runIdTime('20261128T210501Z-flag-3f9a')?.toISOString()).toBe('2026-11-28T21:05:01.000Z');
    expect(runIdTime('not-a-run')).toBeUndefined();
  });
});

describe('printed commands', () => {
  it('quote what a shell would change, and leave plain words alone', () => {
    expect(shellQuote('/tmp/state')).toBe('/tmp/state');
    expect(shellQuote('/tmp/my state')).toBe("'/tmp/my state'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$HOME;rm -rf')).toBe("'$HOME;rm -rf'");
    expect(commandLine(['trimp-rollback', 'resume', 'x', '--config', '/a b/c.yaml'])).toBe(
      "trimp-rollback resume x --config '/a b/c.yaml'",
    );
  });
});

import { Chalk, type ChalkInstance } from 'chalk';

export interface OutputOptions {
  json: boolean;
  /** commander's --no-color sets this to false. */
  color: boolean;
}

/**
 * Colour only on a terminal, never with NO_COLOR, --no-color or --json. chalk 5 does not read
 * NO_COLOR itself, so the level is decided here.
 */
export function styleFor(stream: NodeJS.WriteStream, options: OutputOptions, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  const enabled =
    stream.isTTY === true && options.color && !options.json && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
  return new Chalk({ level: enabled ? 1 : 0 });
}

/**
 * Whether a spinner may draw on stderr. A terminal that reports no width (some `script` and CI
 * pseudo-terminals) gets plain lines: ora divides by the width, and its clearing loop then never
 * ends, which would also keep Ctrl-C from ever being handled.
 */
export function isInteractive(options: OutputOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    process.stderr.isTTY === true &&
    (process.stderr.columns ?? 0) > 0 &&
    !options.json &&
    !('NO_COLOR' in env && env.NO_COLOR !== '') &&
    options.color &&
    env.TERM !== 'dumb'
  );
}

import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';
import { banisterAverage, type ConstantsName, roundTrimp, type Sex, TrimpInputError } from '../trimp/banister.js';
import { banisterStream } from '../trimp/stream.js';
import type { CommandResult } from './run-runbook.js';

export interface TrimpOptions {
  duration: string;
  avgHr?: string;
  restingHr: string;
  maxHr: string;
  sex: string;
  stream?: string;
  constants: string;
  json?: boolean;
}

/** `trimp-rollback trimp ...`: Banister TRIMP from an average heart rate or a stream file. */
export async function trimpCommand(options: TrimpOptions): Promise<CommandResult> {
  const profile = {
    durationMin: number('--duration', options.duration),
    restingHr: number('--resting-hr', options.restingHr),
    maxHr: number('--max-hr', options.maxHr),
    sex: options.sex as Sex,
  };
  if (options.constants !== 'app' && options.constants !== 'literature') {
    throw usageError('trimp-input', `--constants must be app or literature, not "${options.constants}"`);
  }
  const constants = options.constants as ConstantsName;
  try {
    const result = options.stream ? fromStream(profile, readStream(options.stream), constants) : fromAverage(profile, options, constants);
    const out = options.json ? JSON.stringify(result) : `${roundTrimp(result.trimp).toFixed(2)} (${result.method} method)`;
    process.stdout.write(`${out}\n`);
    return { exitCode: 0 };
  } catch (error) {
    if (error instanceof TrimpInputError) throw usageError('trimp-input', `invalid TRIMP input: ${error.message}`);
    throw error;
  }
}

type Profile = { durationMin: number; restingHr: number; maxHr: number; sex: Sex };

function fromAverage(profile: Profile, options: TrimpOptions, constants: ConstantsName) {
  if (options.avgHr === undefined) throw usageError('trimp-input', 'give --avg-hr, or --stream FILE.json');
  return { trimp: banisterAverage({ ...profile, avgHr: number('--avg-hr', options.avgHr) }, constants), method: 'average' as const };
}

function fromStream(profile: Profile, hr: unknown[], constants: ConstantsName) {
  const outcome = banisterStream({ ...profile, hr }, constants);
  if (outcome.kind === 'rejected') throw new TrimpInputError(`stream rejected: ${outcome.reason}`);
  // Too few valid samples: the app falls back to the average method, and so do we, saying so.
  return { trimp: outcome.trimp, method: outcome.kind === 'stream' ? ('stream' as const) : ('average' as const) };
}

function readStream(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw usageError('trimp-input', `cannot read stream file ${path}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw usageError('trimp-input', `stream file ${path} is not JSON; expected an array of heart-rate samples`);
  }
  if (!Array.isArray(parsed)) throw usageError('trimp-input', `stream file ${path} must hold a JSON array of heart-rate samples`);
  return parsed;
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw usageError('trimp-input', `${flag} must be a number, not "${text}"`);
  return value;
}

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
  if (options.stream && options.avgHr !== undefined)
    throw usageError('trimp-input', 'give --avg-hr (the average method) or --stream FILE (the enhanced method), not both');
  try {
    const result = options.stream ? fromStream(profile, readStream(options.stream), constants) : fromAverage(profile, options, constants);
    for (const warning of rangeWarnings(profile, options.stream ? undefined : Number(options.avgHr)))
      process.stderr.write(`warning: ${warning}\n`);
    const out = options.json ? JSON.stringify(result) : `${roundTrimp(result.trimp).toFixed(2)} (${result.note})`;
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
  const trimp = banisterAverage({ ...profile, avgHr: number('--avg-hr', options.avgHr) }, constants);
  return { trimp, method: 'average' as const, formula: 'average' as const, note: 'average method' };
}

/** As the app stores it: the method is "stream"; the formula may have fallen back, or the stream been rejected (0.0). */
function fromStream(profile: Profile, hr: unknown[], constants: ConstantsName) {
  const outcome = banisterStream({ ...profile, hr }, constants);
  if (outcome.kind === 'rejected')
    return {
      trimp: 0,
      method: 'stream' as const,
      formula: 'rejected' as const,
      note: `stream rejected: ${outcome.reason}`,
      reason: outcome.reason,
    };
  if (outcome.kind === 'average-fallback')
    return {
      trimp: outcome.trimp,
      method: 'stream' as const,
      formula: 'average-fallback' as const,
      note: `stream method; only ${outcome.usedSamples} of ${outcome.totalSamples} samples above 0, so the app uses the average formula with their mean ${outcome.avgHr.toFixed(1)}`,
    };
  return {
    trimp: outcome.trimp,
    method: 'stream' as const,
    formula: 'stream' as const,
    note: `stream method, ${outcome.usedSamples} of ${outcome.totalSamples} samples used`,
  };
}

/** The ranges the app warns about (its calculate_banister_trimp), and a reserve clamped at max. */
function rangeWarnings(profile: Profile, avgHr: number | undefined): string[] {
  const warnings: string[] = [];
  if (avgHr !== undefined && avgHr > profile.maxHr)
    warnings.push(`--avg-hr ${avgHr} is above --max-hr ${profile.maxHr}: the heart-rate reserve is clamped to 1, as the app does`);
  if (avgHr !== undefined && (avgHr < 30 || avgHr > 250))
    warnings.push(`--avg-hr ${avgHr} is outside 30-250 bpm (the app logs the same warning)`);
  if (profile.restingHr < 30 || profile.restingHr > 100)
    warnings.push(`--resting-hr ${profile.restingHr} is outside 30-100 bpm (the app warns; with a stream it stores 0.0)`);
  if (profile.maxHr < 120 || profile.maxHr > 250)
    warnings.push(`--max-hr ${profile.maxHr} is outside 120-250 bpm (the app warns; with a stream it stores 0.0)`);
  if (profile.durationMin > 1440)
    warnings.push(`--duration ${profile.durationMin} is more than a day (the app warns; with a stream it stores 0.0)`);
  return warnings;
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

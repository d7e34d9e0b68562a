import { parseDuration } from '../actions/params.js';
import { usageError } from '../errors.js';
import { isUserType, USER_TYPES, type UserType } from '../target/user-types.js';

/** A duration option (30s, 5m, 1h), bounded: exit 2 with what was wrong. */
export function parseDurationOption(flag: string, text: string, maxMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw usageError('option-invalid', `${flag} must be a duration such as 30s, 2m or 1h, not "${text}"`);
  }
  if (ms > maxMs) throw usageError('option-invalid', `${flag} is at most ${maxMs / 60_000} min, not ${text}`);
  return ms;
}

/**
 * A comma-separated list of user types ("regular,beta"), in the order given, each once; exit 2
 * naming what was wrong. Order matters where the list is a sequence (gradual stages).
 */
export function parseUserTypeList(flag: string, text: string): UserType[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '') && text.trim() !== '')
    throw usageError('option-invalid', `${flag}: an empty name in "${text}"; write the user types separated by single commas`);
  const unknown = names.filter((name) => name !== '' && !isUserType(name));
  if (unknown.length > 0 || text.trim() === '') {
    throw usageError(
      'option-invalid',
      `${flag}: unknown user type ${unknown.map((n) => `"${n}"`).join(', ') || '(empty)'}; user types are ${USER_TYPES.join(', ')}`,
    );
  }
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0) throw usageError('option-invalid', `${flag}: "${repeated[0]}" is named twice`);
  return names as UserType[];
}

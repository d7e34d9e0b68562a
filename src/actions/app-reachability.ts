import { isTrimpError } from '../errors.js';

/**
 * Runs a check that needs the app. When the app cannot be reached and the step said the app is
 * optional (the flag was set through the database because the app is down), the check is
 * skipped with a warning instead of failing the run.
 */
export async function whenAppReachable<T>(
  requirement: 'required' | 'optional',
  warnings: string[],
  what: string,
  check: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await check();
  } catch (error) {
    if (requirement === 'optional' && isTrimpError(error) && error.code === 'app-unreachable') {
      warnings.push(`${what} skipped: ${error.message}`);
      return undefined;
    }
    throw error;
  }
}

import { usageError } from '../errors.js';
import { ENHANCED_TRIMP_FLAG, type FlagStates, USER_TYPES, type UserType } from '../target/user-types.js';
import { flagUndo } from './flag-restore.js';
import { parseUserTypeList } from './options.js';
import { type CommandResult, type RunCommandOptions, runRunbook } from './run-runbook.js';

export interface FlagOptions extends RunCommandOptions {
  all?: boolean;
  userType?: string;
  enable?: boolean;
  flag?: string;
  /** Send the notice to users although a flag rollback is transparent to them. */
  notifyUsers?: boolean;
}

/** `trimp-rollback flag --all | --user-type a,b [--enable]`: Scenario 1 of the seed. */
export async function flagCommand(options: FlagOptions): Promise<CommandResult> {
  const types = selectedTypes(options);
  const states: FlagStates = Object.fromEntries(types.map((type) => [type, options.enable ?? false]));
  const { command } = await runRunbook({
    runbook: 'flag',
    inputs: {
      flag: options.flag ?? ENHANCED_TRIMP_FLAG,
      states,
      app: options.via === 'db' ? 'optional' : 'required',
      notify_users: options.notifyUsers ?? false,
    },
    options,
    undo: flagUndo,
  });
  return command;
}

export function selectedTypes(options: { all?: boolean; userType?: string }): UserType[] {
  if (options.all && options.userType) throw usageError('flag-usage', 'give either --all or --user-type, not both');
  if (options.all) return [...USER_TYPES];
  if (!options.userType) {
    throw usageError('flag-usage', 'say which users: --all, or --user-type with a list such as admin,beta,regular');
  }
  const names = parseUserTypeList('--user-type', options.userType);
  return USER_TYPES.filter((type) => names.includes(type));
}

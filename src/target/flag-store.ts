import type { FlagStates, UserType } from './user-types.js';

/**
 * Where the flag lives. Two adapters: the app's admin API, and the database directly (for when
 * the app is down). Operations set a state; nothing toggles blindly.
 */
export interface FlagStore {
  readonly via: 'api' | 'db';
  /** A human description of where the store is, for plans and errors. */
  readonly location: string;
  read(flag: string): Promise<FlagStates>;
  set(flag: string, userType: UserType, enabled: boolean, actor: string): Promise<void>;
  /** Which user type a user is, and whether the flag is on for them, as the app decides it. */
  evaluate(flag: string, userId: number): Promise<{ userType: UserType; enabled: boolean }>;
  close(): Promise<void>;
}

/** Writes go through this gate; a dry run hands the adapters a closed one. */
export interface WriteGate {
  verifyWritable(what: string): void;
}

export const openGate: WriteGate = { verifyWritable() {} };

export const dryRunGate: WriteGate = {
  verifyWritable(what: string) {
    // Reaching this is a bug in the engine, not an operator error: a dry run must never write.
    throw new Error(`internal error: "${what}" attempted during a dry run`);
  },
};

/** The cohorts the flag is set for, as the seed names them. */
export const USER_TYPES = ['admin', 'beta', 'regular'] as const;
export type UserType = (typeof USER_TYPES)[number];

/** A flag's state per user type. A type may be absent when a store has no row for it. */
export type FlagStates = Partial<Record<UserType, boolean>>;

export const ENHANCED_TRIMP_FLAG = 'enhanced_trimp_calculation';

/** The seed's sample users: 1 admin, 2 beta, 4 regular. */
export const SEED_SAMPLE_USERS: Record<UserType, number> = { admin: 1, beta: 2, regular: 4 };

export function isUserType(value: unknown): value is UserType {
  return typeof value === 'string' && (USER_TYPES as readonly string[]).includes(value);
}

export function describeState(enabled: boolean | undefined): string {
  if (enabled === undefined) return 'unset';
  return enabled ? 'enabled' : 'disabled';
}

/** "admin: enabled → disabled, beta: …" for the types that `target` names. */
export function describeTransition(current: FlagStates, target: FlagStates): string[] {
  return USER_TYPES.filter((type) => target[type] !== undefined).map((type) => {
    const from = describeState(current[type]);
    const to = describeState(target[type]);
    return from === to ? `${type}: ${from} (already, unchanged)` : `${type}: ${from} → ${to}`;
  });
}

import { TrimpError } from '../errors.js';
import type { AdminApi } from './admin-api.js';
import type { FlagStore, WriteGate } from './flag-store.js';
import { type FlagStates, isUserType, type UserType } from './user-types.js';

interface FlagsResponse {
  flags?: Record<string, FlagStates>;
}
interface ToggleResponse {
  states?: FlagStates;
}
interface EvaluateResponse {
  user_type?: string;
  enabled?: boolean;
}

export function apiFlagStore(api: AdminApi, gate: WriteGate): FlagStore {
  const flagPath = (flag: string) => `api/admin/feature-flags/${encodeURIComponent(flag)}`;
  return {
    via: 'api',
    location: api.baseUrl,
    async read(flag) {
      const body = await api.getOk<FlagsResponse>('api/admin/feature-flags');
      const states = body.flags?.[flag];
      if (!states) {
        throw new TrimpError('unknown-flag', `the app at ${api.baseUrl} has no flag named ${flag}`, {
          remedy: `known flags: ${Object.keys(body.flags ?? {}).join(', ') || 'none'}`,
        });
      }
      return states;
    },
    async set(flag, userType, enabled) {
      gate.verifyWritable(`POST ${flagPath(flag)}/toggle`);
      const body = await api.postOk<ToggleResponse>(`${flagPath(flag)}/toggle`, { user_type: userType, enabled });
      if (body.states?.[userType] !== enabled) {
        throw new TrimpError('flag-not-set', `the app answered the toggle but reports ${userType} as ${body.states?.[userType]}`);
      }
    },
    async evaluate(flag, userId) {
      const body = await api.getOk<EvaluateResponse>(`${flagPath(flag)}/evaluate?user_id=${userId}`);
      if (!isUserType(body.user_type) || typeof body.enabled !== 'boolean') {
        throw new TrimpError('bad-answer', `the app's evaluation of user ${userId} has no user_type/enabled`);
      }
      return { userType: body.user_type as UserType, enabled: body.enabled };
    },
    async close() {},
  };
}

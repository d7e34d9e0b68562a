import type { ProfileName } from '../../config/config.js';
import type { AppProfile } from './profile.js';
import { seedProfile } from './seed.js';
import { trainingMonkeyProfile } from './trainingmonkey.js';

const PROFILES: Record<ProfileName, AppProfile> = { seed: seedProfile, trainingmonkey: trainingMonkeyProfile };

export function profileNamed(name: ProfileName): AppProfile {
  return PROFILES[name];
}

export type { AppProfile, Capability, Endpoint, StoredActivity, TrimpAnswer } from './profile.js';

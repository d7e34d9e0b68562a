import type { CheckDefinition } from './check.js';
import { historicalData, newDataCanBeCreated, noCorruption, schemaConsistent } from './data-integrity.js';
import { logsNoSecrets } from './log-secrets.js';
import { apiEndpoints, appResponsive, databaseAccessible, hostResources, logsClean } from './system-health.js';
import {
  noUserErrors,
  performanceAcceptable,
  trimpAppAnswer,
  trimpReference,
  trimpStoredValues,
  usersCanReach,
} from './user-experience.js';

/** The seed's Post-Rollback Checklist, in its order: one named check per line (TRIMP sanity in three). */
export const CHECKS: CheckDefinition[] = [
  appResponsive,
  apiEndpoints,
  databaseAccessible,
  logsClean,
  hostResources,
  usersCanReach,
  trimpReference,
  trimpAppAnswer,
  trimpStoredValues,
  noUserErrors,
  performanceAcceptable,
  noCorruption,
  schemaConsistent,
  historicalData,
  newDataCanBeCreated,
];

/**
 * Checks beyond the seed's checklist, run when named (`validate --checks logs-no-secrets`, or a
 * runbook's validate step that lists them).
 */
export const EXTRA_CHECKS: CheckDefinition[] = [logsNoSecrets];

/** Every check a name may select: the checklist's and the extra ones. */
export const ALL_CHECKS: CheckDefinition[] = [...CHECKS, ...EXTRA_CHECKS];
export const CHECK_NAMES = ALL_CHECKS.map((c) => c.name);

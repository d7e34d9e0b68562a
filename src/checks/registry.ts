import type { CheckDefinition } from './check.js';
import { historicalData, newDataCanBeCreated, noCorruption, schemaConsistent } from './data-integrity.js';
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

export const CHECK_NAMES = CHECKS.map((c) => c.name);

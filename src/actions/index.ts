import type { ActionDefinition } from './action.js';
import { appHealth } from './app-health.js';
import { appPreflight } from './app-preflight.js';
import { appStart } from './app-start.js';
import { appStop } from './app-stop.js';
import { backupChoose } from './backup-choose.js';
import { backupCreateStep } from './backup-create.js';
import { baselineRecord } from './baseline-record.js';
import { databaseCheck } from './database-check.js';
import { databaseKeep } from './database-keep.js';
import { databaseStage, databaseSwap, databaseSwapReady } from './database-pg.js';
import { databasePreflight } from './database-preflight.js';
import { databaseRestore } from './database-restore.js';
import { databaseUseKept } from './database-use-kept.js';
import { databaseVerifySource } from './database-verify-source.js';
import { flagAssess } from './flag-assess.js';
import { flagSet } from './flag-set.js';
import { flagStage } from './flag-stage.js';
import { flagVerify } from './flag-verify.js';
import { manual } from './manual.js';
import { monitor } from './monitor.js';
import { releaseDeploy } from './release-deploy.js';
import { releasePlan } from './release-plan.js';
import { usersDraftNotice, usersNotify } from './users-notify.js';
import { validate } from './validate.js';
import { wait } from './wait.js';

/** Every step kind a runbook may use. */
export const ACTIONS: Record<string, ActionDefinition<unknown>> = Object.fromEntries(
  [
    baselineRecord,
    flagAssess,
    flagSet,
    flagStage,
    flagVerify,
    appHealth,
    appPreflight,
    appStop,
    appStart,
    releasePlan,
    releaseDeploy,
    backupCreateStep,
    backupChoose,
    databaseUseKept,
    databaseVerifySource,
    databasePreflight,
    databaseKeep,
    databaseRestore,
    databaseStage,
    databaseSwapReady,
    databaseSwap,
    databaseCheck,
    validate,
    usersDraftNotice,
    usersNotify,
    wait,
    monitor,
    manual,
  ].map((action) => [action.name, action as ActionDefinition<unknown>]),
);

export const ACTION_NAMES = Object.keys(ACTIONS);

export function actionNamed(name: string): ActionDefinition<unknown> {
  const action = ACTIONS[name];
  if (!action) throw new Error(`unknown action ${name}`); // the runbook loader refuses these first
  return action;
}

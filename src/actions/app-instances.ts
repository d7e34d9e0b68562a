import type { AppProcessConfig } from '../config/config.js';
import { type Instance, instanceApp, instancesOf } from '../target/instances.js';
import type { TargetInfo } from './action.js';
import { appConfigOf } from './app-stop.js';

/** One instance and how its process is stopped and started (target.app with {instance} and {port} filled in). */
export interface InstanceApp {
  instance: Instance;
  app: AppProcessConfig;
  /** "instance 2 " when there are several, else nothing: put before what is said about it. */
  label: string;
}

export function instanceAppsOf(info: TargetInfo): InstanceApp[] {
  const template = appConfigOf(info);
  const instances = instancesOf(info.instances);
  return instances.map((instance) => ({
    instance,
    app: instanceApp(template, instance),
    label: instances.length > 1 ? `instance ${instance.number} ` : '',
  }));
}

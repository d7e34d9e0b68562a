import type { AppProcessConfig } from '../config/config.js';

/** One instance of the app: its number (from 1, in target.instances order) and base URL. */
export interface Instance {
  number: number;
  baseUrl: string;
}

export function instancesOf(urls: readonly string[]): Instance[] {
  return urls.map((baseUrl, index) => ({ number: index + 1, baseUrl }));
}

/** The instance's port, as {port} fills it in: the URL's own, or its scheme's default. */
export function portOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** target.app for one instance: {instance} and {port} filled in (argv and PID file). */
export function instanceApp(app: AppProcessConfig, instance: Instance): AppProcessConfig {
  const fill = (text: string) => text.replaceAll('{instance}', String(instance.number)).replaceAll('{port}', portOf(instance.baseUrl));
  return { ...app, start: app.start.map(fill), pidFile: fill(app.pidFile) };
}

/** "instance 2 (http://…)" when there are several; nothing to say when there is one. */
export function instanceLabel(instance: Instance, total: number): string {
  return total > 1 ? `instance ${instance.number} (${instance.baseUrl})` : '';
}

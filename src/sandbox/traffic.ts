import { REFERENCE_REQUEST } from '../checks/app-trimp.js';

/**
 * Each cohort's share of requests. The public app has one admin and a few beta users; drawn by
 * head count they would send too few requests for a gradual rollback's window to judge their
 * stage, so each cohort gets a share of its own.
 */
const COHORT_SHARE: Record<string, number> = { regular: 0.5, beta: 0.3, admin: 0.2 };

function pickUser(cohorts: Map<string, number[]>): number {
  const types = [...cohorts.keys()];
  const weights = types.map((type) => COHORT_SHARE[type] ?? 0.1);
  let draw = Math.random() * weights.reduce((a, b) => a + b, 0);
  let index = 0;
  while (index < types.length - 1 && draw >= (weights[index] as number)) draw -= weights[index++] as number;
  const ids = cohorts.get(types[index] as string) ?? [];
  return ids[Math.floor(Math.random() * ids.length)] as number;
}

/**
 * Simulated users at a steady rate: most calculate TRIMP with a heart-rate stream (so the flag
 * decides the method), the rest sync a new activity (a write). They go through the app's own
 * HTTP endpoints, so metrics, logs and the database move as they do in production.
 */
export function startTraffic(baseUrl: string, ratePerSecond: number, usersByType: () => Map<string, number[]>): () => void {
  const tickMs = 100;
  let budget = 0;
  let inFlight = 0;
  const maxInFlight = Math.max(8, ratePerSecond);
  const timer = setInterval(() => {
    budget += (ratePerSecond * tickMs) / 1000;
    const cohorts = usersByType();
    while (budget >= 1 && inFlight < maxInFlight && cohorts.size > 0) {
      budget -= 1;
      inFlight += 1;
      const userId = pickUser(cohorts);
      const sync = Math.random() < 0.3;
      const avgHr = 120 + Math.round(Math.random() * 40);
      const body = {
        user_id: userId,
        duration_minutes: 30 + Math.round(Math.random() * 60),
        avg_hr: avgHr,
        hr_stream: REFERENCE_REQUEST.hr_stream.map((hr) => hr - 150 + avgHr),
      };
      fetch(`${baseUrl}/api/${sync ? 'activities' : 'trimp/calculate'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
        .then((response) => response.arrayBuffer())
        .catch(() => undefined)
        .finally(() => {
          inFlight -= 1;
        });
    }
    budget = Math.min(budget, ratePerSecond); // never a burst after a stall
  }, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}

import { REFERENCE_REQUEST } from '../../checks/app-trimp.js';

/** The public app's cohorts by id (utils/feature_flags.py): 1 the admin, 2 and 3 beta; the rest regular. */
const COHORTS: { ids: number[]; share: number }[] = [
  { ids: [1], share: 0.2 },
  { ids: [2, 3], share: 0.3 },
  { ids: [4, 5, 6, 7, 8, 9, 10], share: 0.5 },
];

/**
 * Simulated users of the public app: most read their training data, some sync a workout (a write
 * whose TRIMP the flag's method computes). Each says who it is with x-sandbox-user, the
 * sandbox's stand-in for a logged-in user's session; each request lands in api_logs.
 */
export function startUserTraffic(baseUrl: string, ratePerSecond: number): () => void {
  const tickMs = 100;
  let budget = 0;
  let inFlight = 0;
  const timer = setInterval(() => {
    budget += (ratePerSecond * tickMs) / 1000;
    while (budget >= 1 && inFlight < Math.max(8, ratePerSecond)) {
      budget -= 1;
      inFlight += 1;
      const cohort = pickCohort(Math.random());
      const user = cohort.ids[Math.floor(Math.random() * cohort.ids.length)] as number;
      const sync = Math.random() < 0.3;
      const avgHr = 120 + Math.round(Math.random() * 40);
      const request = sync
        ? fetch(`${baseUrl}/sync`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-sandbox-user': String(user) },
            body: JSON.stringify({
              duration_minutes: 30 + Math.round(Math.random() * 60),
              avg_hr: avgHr,
              hr_stream: REFERENCE_REQUEST.hr_stream.map((hr) => hr - 150 + avgHr),
            }),
          })
        : fetch(`${baseUrl}/api/training-data`, { headers: { 'x-sandbox-user': String(user) } });
      request
        .then((response) => response.arrayBuffer())
        .catch(() => undefined)
        .finally(() => {
          inFlight -= 1;
        });
    }
    budget = Math.min(budget, ratePerSecond);
  }, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}

function pickCohort(draw: number): (typeof COHORTS)[number] {
  let left = draw;
  for (const cohort of COHORTS) {
    left -= cohort.share;
    if (left < 0) return cohort;
  }
  return COHORTS[COHORTS.length - 1] as (typeof COHORTS)[number];
}

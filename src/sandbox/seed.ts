import type { Database } from 'better-sqlite3';
import { banisterAverage, roundTrimp, type Sex } from '../trimp/banister.js';
import { banisterStream } from '../trimp/stream.js';

export interface SeedOptions {
  users: number;
  activities: number;
  /** Share of activities that have a heart-rate stream. */
  streamShare: number;
  seed: number;
}

export const DEFAULT_SEED: SeedOptions = { users: 20, activities: 3000, streamShare: 0.15, seed: 42 };

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same database. */
export function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPORTS = [
  ['Run', 'Morning run'],
  ['Ride', 'Endurance ride'],
  ['Run', 'Intervals'],
  ['Swim', 'Pool swim'],
  ['Ride', 'Commute'],
  ['Run', 'Long run'],
] as const;

/**
 * Users (1 admin, 2–3 beta, the rest regular, as in the public app) and a training history over
 * three years. TRIMP is stored with the method that computed it: the stream method where a
 * stream exists (the flag was on when it was processed), the average method elsewhere.
 */
export function seedDatabase(db: Database, options: SeedOptions = DEFAULT_SEED): void {
  const random = randomSource(options.seed);
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  const users: { id: number; resting: number; max: number; sex: Sex }[] = [];

  const insertUser = db.prepare(
    'INSERT INTO user_settings (id, email, user_type, resting_hr, max_hr, gender, is_admin) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertActivity = db.prepare(`INSERT INTO activities (activity_id, user_id, date, name, type, avg_heart_rate, max_heart_rate,
    duration_minutes, trimp, time_in_zone1, time_in_zone2, time_in_zone3, time_in_zone4, time_in_zone5, trimp_calculation_method,
    hr_stream_sample_count, trimp_processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertStream = db.prepare('INSERT INTO hr_streams (activity_id, user_id, hr_data, sample_rate) VALUES (?, ?, ?, ?)');
  const insertFeedback = db.prepare('INSERT INTO user_feedback (user_id, created_at, category, rating, message) VALUES (?, ?, ?, ?, ?)');

  const end = Date.UTC(2026, 10, 1);
  const span = 3 * 365 * 86_400_000;

  db.transaction(() => {
    for (let id = 1; id <= options.users; id++) {
      const type = id === 1 ? 'admin' : id <= 3 ? 'beta' : 'regular';
      const sex: Sex = random() < 0.6 ? 'male' : 'female';
      const user = { id, resting: Math.round(between(44, 66)), max: Math.round(between(172, 202)), sex };
      users.push(user);
      insertUser.run(id, `user${id}@example.test`, type, user.resting, user.max, sex, type === 'admin' ? 1 : 0);
    }
    for (let id = 1; id <= options.activities; id++) {
      const user = users[Math.floor(random() * users.length)] ?? (users[0] as (typeof users)[number]);
      const [sport, name] = SPORTS[Math.floor(random() * SPORTS.length)] ?? SPORTS[0];
      const date = new Date(end - random() * span).toISOString().slice(0, 19).replace('T', ' ');
      const duration = Math.round(between(20, 150));
      const reserve = user.max - user.resting;
      const avgHr = Math.round(user.resting + reserve * between(0.45, 0.85));
      const maxHr = Math.min(user.max, Math.round(avgHr + between(8, 25)));
      const profile = { restingHr: user.resting, maxHr: user.max, sex: user.sex, durationMin: duration };
      const zones = zoneMinutes(duration, random);
      let method: 'average' | 'stream' = 'average';
      let trimp = banisterAverage({ ...profile, avgHr });
      let samples: number[] | undefined;
      if (random() < options.streamShare) {
        samples = Array.from({ length: 120 }, (_, i) => Math.round(avgHr + 10 * Math.sin(i / 9) + between(-4, 4)));
        const outcome = banisterStream({ ...profile, hr: samples });
        if (outcome.kind === 'stream') {
          trimp = outcome.trimp;
          method = 'stream';
        }
      }
      insertActivity.run(
        id,
        user.id,
        date,
        name,
        sport,
        avgHr,
        maxHr,
        duration,
        roundTrimp(trimp),
        ...zones,
        method,
        samples?.length ?? null,
        date,
      );
      if (samples) insertStream.run(id, user.id, JSON.stringify(samples), samples.length / (duration * 60));
    }
    const feedbackCount = Math.max(5, Math.round(options.users / 2));
    for (let i = 0; i < feedbackCount; i++) {
      const user = users[i % users.length] as (typeof users)[number];
      insertFeedback.run(
        user.id,
        new Date(end - random() * 30 * 86_400_000).toISOString(),
        random() < 0.7 ? 'trimp' : 'general',
        1 + Math.floor(random() * 5),
        'seeded feedback',
      );
    }
  })();
}

function zoneMinutes(duration: number, random: () => number): [number, number, number, number, number] {
  const weights = [random() + 0.2, random() + 0.5, random() + 0.4, random() * 0.6, random() * 0.2];
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => Math.round((duration * w * 10) / total) / 10) as [number, number, number, number, number];
}

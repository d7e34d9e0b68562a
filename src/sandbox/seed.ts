import type { Database } from 'better-sqlite3';
import { banisterConstants, banisterWeight, heartRateReserve, roundTrimp, type Sex } from '../trimp/banister.js';
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

export interface SeedFigures {
  users: number;
  activities: number;
  streams: number;
  ms: number;
}

/**
 * A new database file with the schema and a seeded history. Built with the journal off and
 * indexes last (a fresh file has nothing to protect until it is complete), then switched to WAL.
 */
export async function createSandboxDatabase(path: string, options: SeedOptions, onProgress?: (done: number) => void): Promise<SeedFigures> {
  const started = performance.now();
  const { default: Database } = await import('better-sqlite3');
  const { createSchema, finishSchema } = await import('./schema.js');
  const db = new Database(path);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    createSchema(db, true);
    const streams = seedDatabase(db, options, onProgress);
    finishSchema(db);
    return { users: options.users, activities: options.activities, streams, ms: performance.now() - started };
  } finally {
    db.close();
  }
}

const BATCH = 50_000;

/**
 * Users (1 admin, 2–3 beta, the rest regular, as in the public app) and a training history over
 * three years. TRIMP is stored with the method that computed it: the stream method where a
 * stream exists (the flag was on when it was processed), the average method elsewhere.
 * Returns how many activities got a heart-rate stream.
 */
export function seedDatabase(db: Database, options: SeedOptions = DEFAULT_SEED, onProgress?: (done: number) => void): number {
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
  let streams = 0;

  db.transaction(() => {
    for (let id = 1; id <= options.users; id++) {
      const type = id === 1 ? 'admin' : id <= 3 ? 'beta' : 'regular';
      const sex: Sex = random() < 0.6 ? 'male' : 'female';
      const user = { id, resting: Math.round(between(44, 66)), max: Math.round(between(172, 202)), sex };
      users.push(user);
      insertUser.run(id, `user${id}@example.test`, type, user.resting, user.max, sex, type === 'admin' ? 1 : 0);
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

  // The hot loop: one activity per iteration, so the per-user constants are computed once and
  // TRIMP is evaluated directly (the inputs are valid by construction).
  const prepared = users.map((user) => ({ ...user, k: banisterConstants(user.sex), reserve: user.max - user.resting }));
  const zones: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  const insertBatch = db.transaction((from: number, to: number) => {
    for (let id = from; id <= to; id++) {
      const user = prepared[Math.floor(random() * prepared.length)] as (typeof prepared)[number];
      const sport = SPORTS[Math.floor(random() * SPORTS.length)] ?? SPORTS[0];
      const date = new Date(end - random() * span).toISOString().slice(0, 19).replace('T', ' ');
      const duration = Math.round(between(20, 150));
      const avgHr = Math.round(user.resting + user.reserve * between(0.45, 0.85));
      const maxHr = Math.min(user.max, Math.round(avgHr + between(8, 25)));
      fillZones(zones, duration, random);
      let method: 'average' | 'stream' = 'average';
      let trimp = duration * banisterWeight(heartRateReserve(avgHr, { restingHr: user.resting, maxHr: user.max, sex: user.sex }), user.k);
      let samples: number[] | undefined;
      if (random() < options.streamShare) {
        const phase = random() * 10;
        samples = new Array<number>(120);
        for (let i = 0; i < 120; i++) samples[i] = Math.round(avgHr + 10 * Math.sin(phase + i / 9) + between(-4, 4));
        const outcome = banisterStream({ restingHr: user.resting, maxHr: user.max, sex: user.sex, durationMin: duration, hr: samples });
        if (outcome.kind === 'stream') {
          trimp = outcome.trimp;
          method = 'stream';
        }
      }
      insertActivity.run(
        id,
        user.id,
        date,
        sport[1],
        sport[0],
        avgHr,
        maxHr,
        duration,
        roundTrimp(trimp),
        zones[0],
        zones[1],
        zones[2],
        zones[3],
        zones[4],
        method,
        samples ? 120 : null,
        date,
      );
      if (samples) {
        insertStream.run(id, user.id, JSON.stringify(samples), samples.length / (duration * 60));
        streams += 1;
      }
    }
  });
  for (let from = 1; from <= options.activities; from += BATCH) {
    const to = Math.min(options.activities, from + BATCH - 1);
    insertBatch(from, to);
    onProgress?.(to);
  }
  return streams;
}

/** Minutes per heart-rate zone, written into `out` (no allocation in the hot loop). */
function fillZones(out: [number, number, number, number, number], duration: number, random: () => number): void {
  const w1 = random() + 0.2;
  const w2 = random() + 0.5;
  const w3 = random() + 0.4;
  const w4 = random() * 0.6;
  const w5 = random() * 0.2;
  const scale = (duration * 10) / (w1 + w2 + w3 + w4 + w5);
  out[0] = Math.round(w1 * scale) / 10;
  out[1] = Math.round(w2 * scale) / 10;
  out[2] = Math.round(w3 * scale) / 10;
  out[3] = Math.round(w4 * scale) / 10;
  out[4] = Math.round(w5 * scale) / 10;
}

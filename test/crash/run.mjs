#!/usr/bin/env node
// `npm run test:crash -- --kills N [--seed S]`: the crash harnesses (SQLite, PostgreSQL) with more kills than CI runs.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { kills: { type: 'string', default: '100' }, seed: { type: 'string' } } });
const env = { ...process.env, TRIMP_CRASH_KILLS: values.kills, ...(values.seed ? { TRIMP_CRASH_SEED: values.seed } : {}) };
const result = spawnSync('npx', ['vitest', 'run', 'test/crash'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);

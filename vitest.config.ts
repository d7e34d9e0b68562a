import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most tests wait on real processes (sandboxes, windows, timeouts), not the CPU: two at a time.
    maxWorkers: 2,
  },
});

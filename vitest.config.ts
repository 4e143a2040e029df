import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/localstack/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests start real servers and child processes; keep parallelism modest for 2-core CI.
    pool: 'forks',
    maxWorkers: 2,
  },
});

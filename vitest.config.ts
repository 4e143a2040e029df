import { defineConfig } from 'vitest/config';
import { silenceSdkNodeVersionNotice } from './controller/node-notices.js';

// Test workers and the processes they start inherit this (no AWS SDK Node-version notice in test output).
silenceSdkNodeVersionNotice();

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

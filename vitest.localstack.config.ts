import { defineConfig } from 'vitest/config';
import { silenceSdkNodeVersionNotice } from './controller/node-notices.js';

silenceSdkNodeVersionNotice();

export default defineConfig({
  test: {
    include: ['test/localstack/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
  },
});

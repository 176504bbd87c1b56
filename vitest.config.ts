import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: real processes and sockets in every integration test.
    maxWorkers: 2,
    minWorkers: 1,
    env: { WORKER_ADMIN_LOG_LEVEL: 'silent' },
  },
});

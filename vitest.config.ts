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
    // No WORKER_ADMIN_* of the caller reaches the code under test (spawned processes get test/helpers/env.ts testEnv()).
    setupFiles: ['test/helpers/hermetic.ts'],
  },
});

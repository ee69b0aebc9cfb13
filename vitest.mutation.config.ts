import { defineConfig } from 'vitest/config';

// The mutation run (npm run mutate, stryker.config.json): only the unit tests, which need no
// servers, Redis or browser, so each mutant's run is short on two cores.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});

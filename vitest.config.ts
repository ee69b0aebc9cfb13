import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: socket and browser tests measure rates and latencies, so keep load predictable.
    maxWorkers: 2,
    reporters: ['default'],
  },
});

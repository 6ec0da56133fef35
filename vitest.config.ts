import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Forks, not threads: tests spawn worker threads and child processes of their own and load tfjs's wasm.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machine has 2 cores; more parallel files only add contention.
    maxWorkers: 2,
  },
});

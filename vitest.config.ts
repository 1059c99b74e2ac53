import { defineConfig } from 'vitest/config';
import { createRequire } from 'node:module';
import LongestFirst from './test/support/sequencer.js';
const require = createRequire(import.meta.url);
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2 cores: real Postgres + agents + servers per file; more workers only add contention.
    maxWorkers: 2,
    // the longest files start first (test/support/sequencer.ts)
    sequence: { sequencer: LongestFirst },
  },
});

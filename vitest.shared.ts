// The one vitest setup every workspace's tests run with: test files under test/, a JSON report in
// test-results/vitest.json (scripts/test-summary.mjs adds them up for `npm test`'s closing line) and a time limit
// per test. A package's vitest.config.ts passes only what differs (longer limits for browser tests, setup files).
import { defineConfig, type ViteUserConfig } from 'vitest/config';

type TestOptions = NonNullable<ViteUserConfig['test']>;

export function packageTestConfig(test: TestOptions = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 60_000,
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
      ...test,
    },
  });
}

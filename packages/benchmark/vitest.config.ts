import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({
  // Chromium compiles ORT's wasm (tens of seconds on the loaded 2-core machine).
  testTimeout: 120_000,
  hookTimeout: 120_000,
});

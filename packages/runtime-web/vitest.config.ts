import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({
  // Browser tests: compiling ORT's 28 MB wasm took up to ~40 s per page on the loaded 2-core machine.
  testTimeout: 180_000,
  hookTimeout: 180_000,
});

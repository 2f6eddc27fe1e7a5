import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig({
  testTimeout: 180_000,
  hookTimeout: 180_000,
});

import { packageTestConfig } from '../vitest.shared.ts';

export default packageTestConfig({
  include: ['*.test.ts'],
});

// Loaded before every test file (vitest.config.ts setupFiles): the tests here build models in TF.js on its
// plain-JS cpu backend, and free the variables those models made once a file is done.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => {
  tf.disposeVariables();
});

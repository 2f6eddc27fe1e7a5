import type * as tfTypes from '@tensorflow/tfjs';
import { weightsFromKerasNames } from '@semembed/architectures';
import { randomArray } from './helpers.js';

export interface H5Layer {
  name: string;
  weights: { name: string; shape: number[]; data: Float32Array }[];
}

/**
 * Seeded random weights written into a TF.js model (so TF.js computes the reference with them) and returned as the
 * layers of a Keras .h5 file: moving variances in [0.5, 2) (they must be positive), every other weight in
 * [-range, range). Layers and weights are drawn in Keras's order, so a seed always gives the same model.
 */
export function randomizeWeights(tf: typeof tfTypes, model: tfTypes.LayersModel, r: () => number, range: number) {
  return weightsFromKerasNames(model).map((l): H5Layer => ({
    name: l.layer,
    weights: l.weights.map((w) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const data = /moving_variance/.test(w.name) ? randomArray(n, r, 0.5, 2) : randomArray(n, r, -range, range);
      w.variable.write(tf.tensor(data, w.shape));
      return { name: w.name, shape: [...w.shape], data };
    }),
  }));
}

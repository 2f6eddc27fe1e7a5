/**
 * A training run's weights as Keras names them, and its resumable snapshot (--snapshot): the model, the SGD momenta
 * and the loop's state in one Keras HDF5 file, written atomically, so an interrupted run continues where it stopped.
 */
import type * as tfType from '@tensorflow/tfjs';
import { weightsFromKerasNames, type KerasModelConfig } from '@semembed/architectures';
import type { KerasSGD } from './fit.js';
import { writeKerasH5, type H5Layer, type H5Weight } from './h5.js';

/** The loop state stored in a snapshot's `semembed_state` attribute. */
export interface SnapshotState {
  format: 'semembed-trainer-snapshot/1';
  /** The epoch to run next (0-based). */
  epoch: number;
  lr: number;
  iterations: number;
  schedule: Record<string, number>;
  finetuneDone: boolean;
}

/** The model's weights under their Keras names, read asynchronously (the webgpu backend has no sync reads in Node). */
export async function modelWeights(model: tfType.LayersModel): Promise<H5Layer[]> {
  const layers: H5Layer[] = [];
  for (const l of weightsFromKerasNames(model)) {
    const weights: H5Weight[] = [];
    for (const w of l.weights)
      weights.push({ name: w.name, shape: w.shape, data: (await w.variable.read().data()) as Float32Array });
    layers.push({ name: l.layer, weights });
  }
  return layers;
}

export function lookupFrom(layers: H5Layer[]): (name: string) => H5Weight | undefined {
  const m = new Map<string, H5Weight>();
  for (const l of layers) for (const w of l.weights) m.set(w.name, w);
  return (n) => m.get(n);
}

/** Saves model + optimiser momenta + loop state (atomic). */
export async function writeSnapshot(
  file: string,
  cfg: KerasModelConfig,
  model: tfType.LayersModel,
  opt: KerasSGD,
  state: SnapshotState,
): Promise<void> {
  const optimizerWeights: H5Weight[] = [];
  for (const [name, v] of opt.momenta) {
    optimizerWeights.push({
      name: `SGD/momentum/${name}:0`,
      shape: [...v.shape],
      data: (await v.data()) as Float32Array,
    });
  }
  await writeKerasH5(file, {
    modelConfig: cfg,
    layers: await modelWeights(model),
    optimizerWeights,
    extraAttrs: { semembed_state: JSON.stringify(state) },
  });
}

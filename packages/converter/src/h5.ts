// The Keras HDF5 reader is @semembed/formats' (one module for the converter and the trainer); this adapter gives
// the converter its weights-by-layer map.
import { readKerasH5 as readFile, type KerasH5File, type KerasH5Weight } from '@semembed/formats/keras-h5';

export type KerasWeight = KerasH5Weight;

/** A Keras-2 HDF5 file as the converter uses it: @semembed/formats' KerasH5File plus weights by layer name. */
export interface KerasH5 extends KerasH5File {
  /** Layer names in `layer_names` order. */
  layerNames: string[];
  /** Weights per top-level layer name, in `weight_names` order. */
  weights: Map<string, KerasWeight[]>;
}

/** Reads a Keras-2 HDF5 file (full model or save_weights); bad files are one FormatError line naming the file. */
export async function readKerasH5(file: string): Promise<KerasH5> {
  const h5 = await readFile(file);
  return {
    ...h5,
    layerNames: h5.layers.map((l) => l.name),
    weights: new Map(h5.layers.map((l) => [l.name, l.weights])),
  };
}

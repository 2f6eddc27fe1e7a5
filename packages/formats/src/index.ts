export { UserError, FormatError, isUserError } from './errors.js';
export { Rng, mulberry32, randomFloat32 } from './rng.js';
export { type NdArray, type TypedArray, shapeSize, toFloat64, dtypeOfTypedArray } from './ndarray.js';
export { parseNpy, readNpy, encodeNpy, writeNpy } from './npy.js';
export { parsePickle, readPickle } from './pickle.js';
export { encodePickle } from './pickle-write.js';
export { writeFileAtomic, writeViaTemp, writeViaTempSync, tempPathFor } from './atomic.js';
// Keras HDF5 files: `@semembed/formats/keras-h5` (a subpath, so importing formats does not load h5wasm).

export { UserError, FormatError, isUserError } from './errors.js';
export { writeFileAtomic } from './atomic.js';
export { Rng, mulberry32, randomFloat32 } from './rng.js';
export { type NdArray, type TypedArray, shapeSize, toFloat64, dtypeOfTypedArray } from './ndarray.js';
export { parseNpy, readNpy, encodeNpy, writeNpy } from './npy.js';
export { parsePickle, readPickle } from './pickle.js';
export { encodePickle } from './pickle-write.js';

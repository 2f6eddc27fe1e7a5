// The one blocking rule of the BLAS distance calls, shared by both kernels so that their float32 distances are the
// same bits on every CPU: a block of query rows (one evaluation batch) is cut, from its first row, into calls of
// `rowsPerBlasCall` rows, each one single-threaded BLAS call over the whole gallery (FAISS's pairwise_L2sqr, or
// sgemm for inner products). OpenBLAS's result for an element depends on the call's shape and thread split (its
// Haswell/Zen kernels round an N-edge tile differently from a full one; 2 threads split differently from 1), so
// equal bits need equal calls: the JS kernel's faiss-node distanceRows and the native kernel (native/addon.cc)
// both make exactly these calls, the native kernel spreading whole calls over its threads.
/**
 * Query rows per BLAS distance call for a gallery of n items of `bytes` bytes each: about 32 MB of distances, so
 * that a call's output stays in cache for the selection that follows it, 8..256 rows (BLAS packs the whole gallery
 * once per call, so fewer rows per call cost more than the rows falling out of cache).
 */
export function rowsPerBlasCall(n: number, bytes: number): number {
  return Math.max(8, Math.min(256, Math.floor((32 << 20) / (n * bytes))));
}

// Batched matrix products (float32, row-major) through OpenBLAS sgemm for the wasm backend's BatchMatMul: the
// dense layers of a training step and their two gradients (transposed operands) without transposing copies.
// Split across the pool's threads (parallel.h): by batch, or a single product by output rows (or columns when
// there are fewer rows), each part its own single-threaded sgemm. Called on views into the wasm heap; nothing is
// kept after return.
#include <cblas.h>

#include <cstdint>

#include "napi-args.h"
#include "parallel.h"

namespace semembed {
namespace {

// matmul(a, b, out, dims[6] = batchA, batchB, m, k, n, flags): out[i] = op(a[i or 0]) op(b[i or 0]) with
// a batch of 1 broadcast; flags bit 0 transposes a ([k, m] stored), bit 1 transposes b ([n, k] stored).
napi_value MatMul(napi_env env, napi_callback_info info) {
  float* p[4];
  size_t len[4];
  if (!floatArgs(env, info, 4, p, len) || len[3] != 6) {
    return fail(env, "matmul: expected (a, b, out: Float32Array, dims: Float32Array of 6)");
  }
  float *a = p[0], *b = p[1], *out = p[2];
  const float* dims = p[3];
  const size_t na = len[0], nb = len[1], no = len[2];
  const int64_t ba = static_cast<int64_t>(dims[0]), bb = static_cast<int64_t>(dims[1]);
  const int64_t m = static_cast<int64_t>(dims[2]), k = static_cast<int64_t>(dims[3]), n = static_cast<int64_t>(dims[4]);
  const int flags = static_cast<int>(dims[5]);
  const int64_t batch = ba > bb ? ba : bb;
  const bool ok = ba > 0 && bb > 0 && (ba == bb || ba == 1 || bb == 1) && m > 0 && k > 0 && n > 0 &&
                  na == static_cast<size_t>(ba * m * k) && nb == static_cast<size_t>(bb * k * n) &&
                  no == static_cast<size_t>(batch * m * n) && flags >= 0 && flags <= 3;
  if (!ok) return fail(env, "matmul: array sizes do not match the dimensions");
  const bool ta = flags & 1, tb = flags & 2;
  // out rows [r0, r1) and columns [c0, c1) of product i
  const auto product = [&](int64_t i, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const float* ai = a + (ba == 1 ? 0 : i) * m * k + (ta ? r0 : r0 * k);
    const float* bi = b + (bb == 1 ? 0 : i) * k * n + (tb ? c0 * k : c0);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, r1 - r0, c1 - c0, k,
                1.f, ai, ta ? m : k, bi, tb ? k : n, 0.f, out + i * m * n + r0 * n + c0, n);
  };
  // At least ~256 K multiply-adds per part (the dense layers of fashion-cnn are ~20 M, its loss's ~0.01 M).
  const int64_t grain = int64_t{1} << 18;
  const int64_t work = m * n * k;
  if (batch > 1) {
    parallelFor(batch, std::max<int64_t>(1, grain / work), [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) product(i, 0, m, 0, n);
    });
  } else if (m >= n) {
    parallelFor(m, std::max<int64_t>(1, grain / (n * k)),
                [&](int64_t lo, int64_t hi, int) { product(0, lo, hi, 0, n); });
  } else {
    parallelFor(n, std::max<int64_t>(1, grain / (m * k)),
                [&](int64_t lo, int64_t hi, int) { product(0, 0, m, lo, hi); });
  }
  return nullptr;
}

}  // namespace

void registerMatMul(napi_env env, napi_value exports) {
  exportFunction(env, exports, "matmul", MatMul);
}

}  // namespace semembed

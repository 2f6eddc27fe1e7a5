// Max-pooling gradient (NHWC, float32) for the wasm backend: each window's dy goes to its first strictly greatest
// input in row-major window order (the cpu backend's and TensorFlow's rule; none for an all-NaN window). The same
// loop in JavaScript on wasm-heap views ran at ~10 ns a value. Nothing is kept after return.
#include <cstdint>
#include <cstring>
#include <limits>

#include "napi-args.h"

namespace semembed {
namespace {

struct Pool {
  int64_t n, h, w, c, oh, ow, sh, sw, kh, kw, pt, pl;
};

void maxPoolGrad(const Pool& g, const float* x, const float* dy, float* dx) {
  std::memset(dx, 0, sizeof(float) * g.n * g.h * g.w * g.c);
  for (int64_t n = 0; n < g.n; n++) {
    const int64_t xb = n * g.h * g.w * g.c;
    for (int64_t p = 0; p < g.oh; p++) {
      const int64_t r0 = p * g.sh - g.pt;
      const int64_t rs = r0 < 0 ? 0 : r0, re = r0 + g.kh < g.h ? r0 + g.kh : g.h;
      for (int64_t q = 0; q < g.ow; q++) {
        const int64_t c0 = q * g.sw - g.pl;
        const int64_t cs = c0 < 0 ? 0 : c0, ce = c0 + g.kw < g.w ? c0 + g.kw : g.w;
        const float* d = dy + ((n * g.oh + p) * g.ow + q) * g.c;
        for (int64_t ch = 0; ch < g.c; ch++) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t pos = -1;
          for (int64_t r = rs; r < re; r++) {
            for (int64_t cc = cs; cc < ce; cc++) {
              const int64_t idx = xb + (r * g.w + cc) * g.c + ch;
              if (x[idx] > best) {
                best = x[idx];
                pos = idx;
              }
            }
          }
          if (pos >= 0) dx[pos] += d[ch];
        }
      }
    }
  }
}

// maxPoolGrad(x, dy, dx, dims[12] = n h w c oh ow sh sw kh kw pt pl)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float* p[4];
  size_t len[4];
  if (!callArgs(env, info, 4, argv) || !floatArrays(env, argv, 4, p, len) || len[3] != 12) {
    return fail(env, "maxPoolGrad: expected (x, dy, dx: Float32Array, dims: Float32Array of 12)");
  }
  float *x = p[0], *dy = p[1], *dx = p[2];
  const float* dims = p[3];
  const size_t nx = len[0], ndy = len[1], ndx = len[2];
  Pool g{};
  int64_t* f[] = {&g.n, &g.h, &g.w, &g.c, &g.oh, &g.ow, &g.sh, &g.sw, &g.kh, &g.kw, &g.pt, &g.pl};
  for (int i = 0; i < 12; i++) *f[i] = static_cast<int64_t>(dims[i]);
  if (nx != static_cast<size_t>(g.n * g.h * g.w * g.c) || ndx != nx ||
      ndy != static_cast<size_t>(g.n * g.oh * g.ow * g.c) || g.sh < 1 || g.sw < 1) {
    return fail(env, "maxPoolGrad: array sizes do not match the dimensions");
  }
  maxPoolGrad(g, x, dy, dx);
  return nullptr;
}

}  // namespace

void registerPool(napi_env env, napi_value exports) { exportFunction(env, exports, "maxPoolGrad", MaxPoolGrad); }

}  // namespace semembed

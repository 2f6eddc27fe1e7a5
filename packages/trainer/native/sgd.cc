// Keras 2.2's SGD step (momentum, nesterov, global-norm clipnorm) over all weights in one call for the wasm
// backend: tfjs ran ~7 kernels per weight tensor (square, sum, scale, two products, difference, sum) plus the
// engine's bookkeeping for each. Same float32 operations in the same order as KerasSGD.apply (fit.ts); the global
// norm is accumulated in double. Called on views into the wasm heap; nothing is kept after return.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "napi-args.h"

namespace semembed {
namespace {

// v = mu*m - lr*(g*scale); p' = p + v (nesterov: p + (mu*v - lr*(g*scale))).
__attribute__((noinline)) void update(const float* __restrict p, const float* __restrict g,
                                      const float* __restrict m, size_t n, float scale, bool clip, float lr,
                                      float mu, bool nesterov, float* __restrict outP, float* __restrict outM) {
  for (size_t i = 0; i < n; i++) {
    const float gs = clip ? g[i] * scale : g[i];
    const float v = m[i] * mu - gs * lr;
    outM[i] = v;
    outP[i] = nesterov ? p[i] + (v * mu - gs * lr) : p[i] + v;
  }
}

// sgdStep(arrays, hyper): arrays = [p0, g0, m0, p0', m0', p1, ...] (Float32Arrays, 5 per weight);
// hyper = Float64Array [lr, momentum, nesterov, clipnorm]. Returns the global gradient norm (0 without clipnorm).
napi_value SgdStep(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool isArray = false;
  if (argc != 2 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray) {
    return fail(env, "sgdStep: expected (arrays: Float32Array[], hyper: number[4])");
  }
  uint32_t count = 0, hn = 0;
  napi_get_array_length(env, argv[0], &count);
  if (count % 5 != 0 || napi_get_array_length(env, argv[1], &hn) != napi_ok || hn != 4) {
    return fail(env, "sgdStep: arrays must come in fives (p, g, m, p', m') and hyper must have 4 numbers");
  }
  double hyper[4];
  for (uint32_t i = 0; i < 4; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    if (napi_get_value_double(env, v, &hyper[i]) != napi_ok) return fail(env, "sgdStep: hyper must be numbers");
  }
  std::vector<float*> ptr(count);
  std::vector<size_t> len(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    napi_get_element(env, argv[0], i, &v);
    if (!floatArray(env, v, &ptr[i], &len[i])) return fail(env, "sgdStep: arrays must be Float32Arrays");
    if (len[i] != len[i - i % 5]) return fail(env, "sgdStep: a weight's five arrays differ in size");
  }
  const float lr = static_cast<float>(hyper[0]), mu = static_cast<float>(hyper[1]);
  const bool nesterov = hyper[2] != 0;
  const double clipnorm = hyper[3];
  float scale = 1.f;
  double norm = 0;
  if (clipnorm > 0) {
    double ss = 0;
    for (uint32_t w = 0; w < count; w += 5) {
      const float* g = ptr[w + 1];
      for (size_t i = 0; i < len[w]; i++) ss += static_cast<double>(g[i]) * g[i];
    }
    norm = std::sqrt(ss);
    // Keras clip_norm: g * clipnorm / max(norm, clipnorm), the factor in float32 as tfjs computes it
    scale = static_cast<float>(clipnorm) / std::max(static_cast<float>(norm), static_cast<float>(clipnorm));
  }
  for (uint32_t w = 0; w < count; w += 5) {
    update(ptr[w], ptr[w + 1], ptr[w + 2], len[w], scale, clipnorm > 0, lr, mu, nesterov, ptr[w + 3], ptr[w + 4]);
  }
  napi_value out;
  napi_create_double(env, norm, &out);
  return out;
}

}  // namespace

void registerSgd(napi_env env, napi_value exports) { exportFunction(env, exports, "sgdStep", SgdStep); }

}  // namespace semembed

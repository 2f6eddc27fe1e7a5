// Kernels of the native training step (src/native-step/) that the addon's tfjs-kernel replacements do not have:
// bias + activation in place on a conv / dense output, ReLU, its gradient in place, max / average pooling forward,
// average pooling and global average pooling with their gradients (NHWC, float32). A separate addon
// (semembed_step.node) so that conv.cc's module init stays as it is. Plain loops on caller-owned buffers; nothing
// is kept after return.
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <limits>

#include "napi-args.h"

namespace semembed {
namespace {

#define SEMEMBED_LOOP __attribute__((noinline))

// y = act(y + b[c]) over rows of C values; act 0 linear, 1 relu. Each value is tfjs's float32 add then max(0, .)
// (NaN stays NaN, as in the cpu backend's Relu, so a diverging run still shows in the loss).
SEMEMBED_LOOP void biasAct(float* __restrict y, size_t n, const float* __restrict b, size_t C, int act) {
  for (size_t off = 0; off + C <= n; off += C) {
    float* __restrict row = y + off;
    if (act == 1) {
      for (size_t c = 0; c < C; c++) {
        const float v = row[c] + b[c];
        row[c] = v < 0.f ? 0.f : v;
      }
    } else {
      for (size_t c = 0; c < C; c++) row[c] += b[c];
    }
  }
}

SEMEMBED_LOOP void relu(const float* __restrict x, size_t n, float* __restrict y) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.f ? 0.f : x[i];
}

// dy *= step(y): the ReLU gradient with y = relu(z) (y > 0 exactly where z > 0; NaN where y is NaN, as tfjs's).
SEMEMBED_LOOP void reluGradInPlace(float* __restrict dy, const float* __restrict y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float v = y[i];
    dy[i] = v > 0.f ? dy[i] : (v != v ? v : 0.f);
  }
}

// g += 2 * l2 * w; returns sum(w^2) (double): an L2 regulariser's gradient and its loss before the factor.
SEMEMBED_LOOP double l2Grad(const float* __restrict w, float* __restrict g, size_t n, float twoL2) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    s += static_cast<double>(w[i]) * w[i];
    g[i] += twoL2 * w[i];
  }
  return s;
}

struct Pool {
  int64_t n, h, w, c, oh, ow, sh, sw, kh, kw, pt, pl;
};

// The Pool of a dims argument (12 floats: n h w c oh ow sh sw kh kw pt pl); false when it is not one.
bool poolDims(const float* d, size_t len, Pool* g) {
  if (len != 12) return false;
  int64_t* f[] = {&g->n, &g->h, &g->w, &g->c, &g->oh, &g->ow, &g->sh, &g->sw, &g->kh, &g->kw, &g->pt, &g->pl};
  for (int i = 0; i < 12; i++) *f[i] = static_cast<int64_t>(d[i]);
  return g->sh >= 1 && g->sw >= 1 && g->kh >= 1 && g->kw >= 1 && g->n >= 1 && g->c >= 1;
}

// Whether an image array of `full` floats (n h w c) and a pooled one of `pooled` (n oh ow c) have g's sizes.
bool poolSizes(const Pool& g, size_t full, size_t pooled) {
  return full == static_cast<size_t>(g.n * g.h * g.w * g.c) && pooled == static_cast<size_t>(g.n * g.oh * g.ow * g.c);
}

// Window [rs, re) x [cs, ce) of output pixel (p, q), clipped to the image.
inline void window(const Pool& g, int64_t p, int64_t q, int64_t* rs, int64_t* re, int64_t* cs, int64_t* ce) {
  const int64_t r0 = p * g.sh - g.pt, c0 = q * g.sw - g.pl;
  *rs = r0 < 0 ? 0 : r0;
  *re = r0 + g.kh < g.h ? r0 + g.kh : g.h;
  *cs = c0 < 0 ? 0 : c0;
  *ce = c0 + g.kw < g.w ? c0 + g.kw : g.w;
}

// op 0: max (the window's greatest value); op 1: mean over the
// window's in-image values (valid padding: kh * kw of them, tfjs's divisor).
void poolForward(int op, const Pool& g, const float* x, float* y) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t n = 0; n < g.n; n++) {
    const float* xn = x + n * g.h * g.w * g.c;
    for (int64_t p = 0; p < g.oh; p++) {
      for (int64_t q = 0; q < g.ow; q++) {
        int64_t rs, re, cs, ce;
        window(g, p, q, &rs, &re, &cs, &ce);
        float* out = y + ((n * g.oh + p) * g.ow + q) * g.c;
        const float init = op == 0 ? ninf : 0.f;
        for (int64_t ch = 0; ch < g.c; ch++) out[ch] = init;
        for (int64_t r = rs; r < re; r++) {
          for (int64_t cc = cs; cc < ce; cc++) {
            const float* v = xn + (r * g.w + cc) * g.c;
            if (op == 0) {
              for (int64_t ch = 0; ch < g.c; ch++) out[ch] = v[ch] > out[ch] ? v[ch] : out[ch];
            } else {
              for (int64_t ch = 0; ch < g.c; ch++) out[ch] += v[ch];
            }
          }
        }
        if (op == 1) {
          const int64_t count = (re - rs) * (ce - cs);
          const float inv = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
          for (int64_t ch = 0; ch < g.c; ch++) out[ch] *= inv;
        }
      }
    }
  }
}

// The average pooling gradient: each window's dy / count added to its in-image inputs.
void avgPoolGrad(const Pool& g, const float* dy, float* dx) {
  std::memset(dx, 0, sizeof(float) * g.n * g.h * g.w * g.c);
  for (int64_t n = 0; n < g.n; n++) {
    float* dn = dx + n * g.h * g.w * g.c;
    for (int64_t p = 0; p < g.oh; p++) {
      for (int64_t q = 0; q < g.ow; q++) {
        int64_t rs, re, cs, ce;
        window(g, p, q, &rs, &re, &cs, &ce);
        const int64_t count = (re - rs) * (ce - cs);
        if (count == 0) continue;
        const float inv = 1.f / static_cast<float>(count);
        const float* d = dy + ((n * g.oh + p) * g.ow + q) * g.c;
        for (int64_t r = rs; r < re; r++) {
          for (int64_t cc = cs; cc < ce; cc++) {
            float* o = dn + (r * g.w + cc) * g.c;
            for (int64_t ch = 0; ch < g.c; ch++) o[ch] += d[ch] * inv;
          }
        }
      }
    }
  }
}

// Global average pooling of n images of hw pixels x C: y[n, c] = mean (double accumulation, as tf.mean's float
// sum is close to).
void gap(const float* x, size_t n, size_t hw, size_t C, float* y) {
  for (size_t i = 0; i < n; i++) {
    double acc[1024];
    for (size_t c0 = 0; c0 < C; c0 += 1024) {
      const size_t cn = C - c0 < 1024 ? C - c0 : 1024;
      for (size_t c = 0; c < cn; c++) acc[c] = 0.0;
      const float* xi = x + i * hw * C + c0;
      for (size_t p = 0; p < hw; p++) {
        const float* v = xi + p * C;
        for (size_t c = 0; c < cn; c++) acc[c] += v[c];
      }
      for (size_t c = 0; c < cn; c++) y[i * C + c0 + c] = static_cast<float>(acc[c] / static_cast<double>(hw));
    }
  }
}

void gapGrad(const float* dy, size_t n, size_t hw, size_t C, float* dx) {
  const float inv = 1.f / static_cast<float>(hw);
  for (size_t i = 0; i < n; i++) {
    const float* d = dy + i * C;
    float* o = dx + i * hw * C;
    for (size_t p = 0; p < hw; p++) {
      for (size_t c = 0; c < C; c++) o[p * C + c] = d[c] * inv;
    }
  }
}

bool number(napi_env env, napi_value v, int32_t* out) { return napi_get_value_int32(env, v, out) == napi_ok; }
bool number(napi_env env, napi_value v, double* out) { return napi_get_value_double(env, v, out) == napi_ok; }

// Calls of (a, b: Float32Array, a number): the arrays into p / len, the number into *num; false when not so.
template <typename T>
bool twoArraysAndNumber(napi_env env, napi_callback_info info, float** p, size_t* len, T* num) {
  napi_value argv[3];
  return callArgs(env, info, 3, argv) && floatArrays(env, argv, 2, p, len) && number(env, argv[2], num);
}

// stepBiasAct(y, bias, act)
napi_value StepBiasAct(napi_env env, napi_callback_info info) {
  float* p[2];
  size_t len[2];
  int32_t act = 0;
  if (!twoArraysAndNumber(env, info, p, len, &act) || act < 0 || act > 1) {
    return fail(env, "stepBiasAct: expected (y, bias: Float32Array, act: 0 | 1)");
  }
  if (len[1] == 0 || len[0] % len[1] != 0) return fail(env, "stepBiasAct: y's length is not a multiple of bias's");
  biasAct(p[0], len[0], p[1], len[1], act);
  return nullptr;
}

// stepRelu(x, y) | stepReluGrad(dy, y): same lengths.
template <int OP>
napi_value StepElementwise(napi_env env, napi_callback_info info) {
  float* p[2];
  size_t len[2];
  if (!floatArgs(env, info, 2, p, len) || len[0] != len[1]) {
    return fail(env, OP == 0 ? "stepRelu: expected (x, y: Float32Array of one length)"
                             : "stepReluGrad: expected (dy, y: Float32Array of one length)");
  }
  if (OP == 0) relu(p[0], len[0], p[1]);
  else reluGradInPlace(p[0], p[1], len[0]);
  return nullptr;
}

// stepPool(op, x, y, dims[12]) forward (op 0 max, 1 average); stepAvgPoolGrad(dy, dx, dims[12]).
napi_value StepPool(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float* p[3];
  size_t len[3];
  int32_t op = 0;
  Pool g{};
  if (!callArgs(env, info, 4, argv) || napi_get_value_int32(env, argv[0], &op) != napi_ok || op < 0 || op > 1 ||
      !floatArrays(env, argv + 1, 3, p, len) || !poolDims(p[2], len[2], &g)) {
    return fail(env, "stepPool: expected (op 0 | 1, x, y: Float32Array, dims: Float32Array of 12)");
  }
  if (!poolSizes(g, len[0], len[1])) return fail(env, "stepPool: array sizes do not match the dimensions");
  poolForward(op, g, p[0], p[1]);
  return nullptr;
}

napi_value StepAvgPoolGrad(napi_env env, napi_callback_info info) {
  float* p[3];
  size_t len[3];
  Pool g{};
  if (!floatArgs(env, info, 3, p, len) || !poolDims(p[2], len[2], &g)) {
    return fail(env, "stepAvgPoolGrad: expected (dy, dx: Float32Array, dims: Float32Array of 12)");
  }
  if (!poolSizes(g, len[1], len[0])) return fail(env, "stepAvgPoolGrad: array sizes do not match the dimensions");
  avgPoolGrad(g, p[0], p[1]);
  return nullptr;
}

// stepGap(x, y, n) | stepGapGrad(dy, dx, n): x / dx n x hw x C, y / dy n x C.
template <int OP>
napi_value StepGap(napi_env env, napi_callback_info info) {
  float* p[2];
  size_t len[2];
  int32_t n = 0;
  if (!twoArraysAndNumber(env, info, p, len, &n) || n < 1) {
    return fail(env, "stepGap: expected (a, b: Float32Array, n: number of images)");
  }
  const size_t full = OP == 0 ? len[0] : len[1], pooled = OP == 0 ? len[1] : len[0];
  const size_t images = static_cast<size_t>(n);
  if (pooled % images != 0 || full % pooled != 0 || pooled == 0) return fail(env, "stepGap: sizes do not match");
  const size_t C = pooled / images, hw = full / pooled;
  if (OP == 0) gap(p[0], images, hw, C, p[1]);
  else gapGrad(p[0], images, hw, C, p[1]);
  return nullptr;
}

// stepL2(w, g, l2) -> sum(w^2), with g += 2 * l2 * w.
napi_value StepL2(napi_env env, napi_callback_info info) {
  float* p[2];
  size_t len[2];
  double l2 = 0;
  if (!twoArraysAndNumber(env, info, p, len, &l2) || len[0] != len[1]) {
    return fail(env, "stepL2: expected (w, g: Float32Array of one length, l2: number)");
  }
  napi_value out;
  napi_create_double(env, l2Grad(p[0], p[1], len[0], static_cast<float>(2 * l2)), &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  exportFunctions(env, exports,
                  {{"stepL2", StepL2},
                   {"stepBiasAct", StepBiasAct},
                   {"stepRelu", StepElementwise<0>},
                   {"stepReluGrad", StepElementwise<1>},
                   {"stepPool", StepPool},
                   {"stepAvgPoolGrad", StepAvgPoolGrad},
                   {"stepGap", StepGap<0>},
                   {"stepGapGrad", StepGap<1>}});
  return exports;
}

}  // namespace
}  // namespace semembed

NAPI_MODULE_INIT() { return semembed::Init(env, exports); }

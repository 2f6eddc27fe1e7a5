// Per-channel kernels of BatchNorm in training (NHWC, float32) for the wasm backend: the reductions over all
// leading axes (moments and their gradients) and x (op) per-channel vector. tfjs's wasm kernels transpose or
// recompute broadcast indices per element, and the same loops in JavaScript on heap views run at ~10 ns per
// value; these are plain vectorisable loops. Called on views into the wasm heap; nothing is kept after return.
#include <cstdint>
#include <vector>

#include "napi-args.h"

namespace semembed {
namespace {

// out[c] = scale * sum_r x[r * inner + c], accumulated in double in row order (as the JavaScript version did).
void reduceRows(const float* x, size_t n, float* out, size_t inner, double scale) {
  std::vector<double> acc(inner, 0.0);
  for (size_t off = 0; off + inner <= n; off += inner) {
    const float* row = x + off;
    for (size_t c = 0; c < inner; c++) acc[c] += row[c];
  }
  for (size_t c = 0; c < inner; c++) out[c] = static_cast<float>(acc[c] * scale);
}

// op 0: full * vec, 1: full + vec, 2: full - vec, 3: vec - full, vec repeating along full's last axis.
// Each result is one float32 operation on two float32 values: identical to wasm's and the cpu backend's.
template <int OP>
void channelLoop(const float* full, size_t n, const float* vec, size_t C, float* out) {
  for (size_t i = 0; i + C <= n; i += C) {
    const float* f = full + i;
    float* o = out + i;
    for (size_t c = 0; c < C; c++) {
      if (OP == 0) o[c] = f[c] * vec[c];
      if (OP == 1) o[c] = f[c] + vec[c];
      if (OP == 2) o[c] = f[c] - vec[c];
      if (OP == 3) o[c] = vec[c] - f[c];
    }
  }
}

// out = dy * step(x); selects, not branches, so that it vectorises.
void reluGrad(const float* __restrict dy, const float* __restrict x, size_t n, float* __restrict out) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = v > 0.f ? 1.f : 0.f;
    out[i] = dy[i] * (v != v ? v : s);
  }
}

// reduceRows(x, out, scale): out.length is the inner size; x.length must be a multiple of it.
napi_value ReduceRows(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  float *x, *out;
  size_t nx, no;
  double scale;
  if (argc != 3 || !floatArray(env, argv[0], &x, &nx) || !floatArray(env, argv[1], &out, &no) ||
      napi_get_value_double(env, argv[2], &scale) != napi_ok) {
    return fail(env, "reduceRows: expected (x: Float32Array, out: Float32Array, scale: number)");
  }
  if (no == 0 || nx % no != 0) return fail(env, "reduceRows: x's length is not a multiple of out's");
  reduceRows(x, nx, out, no, scale);
  return nullptr;
}

// channelOp(op, full, vec, out): out.length == full.length, a multiple of vec.length.
napi_value ChannelOp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t op;
  float *full, *vec, *out;
  size_t nf, nv, no;
  if (argc != 4 || napi_get_value_int32(env, argv[0], &op) != napi_ok || op < 0 || op > 3 ||
      !floatArray(env, argv[1], &full, &nf) || !floatArray(env, argv[2], &vec, &nv) ||
      !floatArray(env, argv[3], &out, &no)) {
    return fail(env, "channelOp: expected (op 0-3, full, vec, out: Float32Array)");
  }
  if (nv == 0 || no != nf || nf % nv != 0) return fail(env, "channelOp: sizes do not match");
  switch (op) {
    case 0: channelLoop<0>(full, nf, vec, nv, out); break;
    case 1: channelLoop<1>(full, nf, vec, nv, out); break;
    case 2: channelLoop<2>(full, nf, vec, nv, out); break;
    default: channelLoop<3>(full, nf, vec, nv, out); break;
  }
  return nullptr;
}

// reluGrad(dy, x, out): out = dy * step(x) as tfjs's Relu gradient computes it (NaN where x is NaN), one pass
// instead of Step, Cast and Multiply.
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float* p[3];
  size_t len[3];
  if (!callArgs(env, info, 3, argv) || !floatArrays(env, argv, 3, p, len)) {
    return fail(env, "reluGrad: expected (dy, x, out: Float32Array)");
  }
  const float *dy = p[0], *x = p[1];
  float* out = p[2];
  const size_t nd = len[0], nx = len[1], no = len[2];
  if (nd != nx || no != nx) return fail(env, "reluGrad: sizes do not match");
  reluGrad(dy, x, nx, out);
  return nullptr;
}

}  // namespace

void registerElementwise(napi_env env, napi_value exports) {
  exportFunction(env, exports, "reduceRows", ReduceRows);
  exportFunction(env, exports, "channelOp", ChannelOp);
  exportFunction(env, exports, "reluGrad", ReluGrad);
}

}  // namespace semembed

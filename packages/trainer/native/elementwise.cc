// Per-channel kernels of BatchNorm in training (NHWC, float32) for the wasm backend: the reductions over all
// leading axes (moments and their gradients) and x (op) per-channel vector. tfjs's wasm kernels transpose or
// recompute broadcast indices per element, and the same loops in JavaScript on heap views run at ~10 ns per
// value; these are plain vectorisable loops, split across the pool's threads (parallel.h) by rows. Called on views
// into the wasm heap; nothing is kept after return.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "napi-args.h"
#include "parallel.h"
#include "simd4.h"

namespace semembed {
namespace {

#define SEMEMBED_LOOP __attribute__((noinline))

// At least ~32 K values per part: a smaller pass does not pay for waking a thread.
constexpr int64_t kGrain = int64_t{1} << 15;

// acc[c] += row[c] over rows of `inner` values.
SEMEMBED_LOOP void sumRows(const float* __restrict x, size_t n, size_t inner, double* __restrict acc) {
  for (size_t off = 0; off + inner <= n; off += inner) {
    const float* __restrict row = x + off;
    for (size_t c = 0; c < inner; c++) acc[c] += row[c];
  }
}

// out[c] = scale * sum_r x[r * inner + c], accumulated in double in row order per part, parts added in order.
void reduceRows(const float* x, size_t n, float* out, size_t inner, double scale) {
  const int64_t rows = static_cast<int64_t>(n / inner);
  const int parts = partsFor(rows, std::max<int64_t>(1, kGrain / static_cast<int64_t>(inner)));
  // 128 bytes between the parts' accumulators (no cache line shared by two threads)
  const size_t stride = inner + 16;
  std::vector<double> acc(parts * stride, 0.0);
  runParts(rows, parts, [&](int64_t lo, int64_t hi, int part) {
    sumRows(x + lo * inner, (hi - lo) * inner, inner, acc.data() + part * stride);
  });
  for (int part = 1; part < parts; part++) {
    for (size_t c = 0; c < inner; c++) acc[c] += acc[part * stride + c];
  }
  for (size_t c = 0; c < inner; c++) out[c] = static_cast<float>(acc[c] * scale);
}

// fn(offset, count) over [0, n) in parts of whole rows of C values.
template <class F>
void overRows(size_t n, size_t C, F&& fn) {
  parallelFor(static_cast<int64_t>(n / C), std::max<int64_t>(1, kGrain / static_cast<int64_t>(C)),
              [&](int64_t lo, int64_t hi, int) { fn(static_cast<size_t>(lo) * C, static_cast<size_t>(hi - lo) * C); });
}

// op 0: full * vec, 1: full + vec, 2: full - vec, 3: vec - full, vec repeating along full's last axis.
// Each result is one float32 operation on two float32 values: identical to wasm's and the cpu backend's.
template <int OP>
SEMEMBED_LOOP void channelLoop(const float* __restrict full, size_t n, const float* __restrict vec, size_t C,
                               float* __restrict out) {
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
SEMEMBED_LOOP void reluGrad(const float* __restrict dy, const float* __restrict x, size_t n, float* __restrict out) {
  for (size_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = v > 0.f ? 1.f : 0.f;
    out[i] = dy[i] * (v != v ? v : s);
  }
}

// out = Math.max(0, x) as the cpu backend's Relu: NaN stays NaN, -0 becomes +0 (the + 0).
SEMEMBED_LOOP void relu(const float* __restrict x, size_t n, float* __restrict out) {
  size_t i = 0;
  const f4 zero = splat4(0.f);
  for (; i + 4 <= n; i += 4) {
    const f4 v = load4(x + i);
    store4(out + i, mask4(~(v < zero), v + zero));
  }
  for (; i < n; i++) out[i] = x[i] < 0.f ? 0.f : x[i] + 0.f;
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
  overRows(nf, nv, [&](size_t off, size_t len) {
    switch (op) {
      case 0: channelLoop<0>(full + off, len, vec, nv, out + off); break;
      case 1: channelLoop<1>(full + off, len, vec, nv, out + off); break;
      case 2: channelLoop<2>(full + off, len, vec, nv, out + off); break;
      default: channelLoop<3>(full + off, len, vec, nv, out + off); break;
    }
  });
  return nullptr;
}

// An entry point of N Float32Arrays of one length: run(p, off, len) over parts of that length, split across the
// threads; a call of other arguments throws "<name>: expected (<args>: Float32Array)" or "<name>: sizes do not match".
template <size_t N, typename Run>
napi_value sameLengthPass(napi_env env, napi_callback_info info, const char* name, const char* args, Run run) {
  float* p[N];
  size_t len[N];
  if (!floatArgs(env, info, N, p, len)) {
    return fail(env, (std::string(name) + ": expected (" + args + ": Float32Array)").c_str());
  }
  for (size_t i = 1; i < N; i++) {
    if (len[i] != len[0]) return fail(env, (std::string(name) + ": sizes do not match").c_str());
  }
  overRows(len[0], 1, [&](size_t off, size_t n) { run(p, off, n); });
  return nullptr;
}

// reluGrad(dy, x, out): out = dy * step(x) as tfjs's Relu gradient computes it (NaN where x is NaN), one pass
// instead of Step, Cast and Multiply.
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  return sameLengthPass<3>(env, info, "reluGrad", "dy, x, out", [](float* const* p, size_t off, size_t n) {
    reluGrad(p[0] + off, p[1] + off, n, p[2] + off);
  });
}

// relu(x, out): out = Math.max(0, x) (NaN kept), one pass split across the threads (wasm's Relu is single-threaded).
napi_value Relu(napi_env env, napi_callback_info info) {
  return sameLengthPass<2>(env, info, "relu", "x, out",
                           [](float* const* p, size_t off, size_t n) { relu(p[0] + off, n, p[1] + off); });
}

}  // namespace

void registerElementwise(napi_env env, napi_value exports) {
  exportFunctions(env, exports,
                  {{"reduceRows", ReduceRows}, {"channelOp", ChannelOp}, {"reluGrad", ReluGrad}, {"relu", Relu}});
}

}  // namespace semembed

// 2-D convolutions (NHWC, float32) and their gradients as im2col + OpenBLAS sgemm, for the TensorFlow.js wasm
// backend's kernels: wasm SIMD is 128 bits wide, the machine's BLAS is not. Called on views into the wasm heap;
// every function is synchronous and keeps no pointer after it returns.
#include <cblas.h>
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "napi-args.h"
#include "parallel.h"
#include "simd4.h"

namespace {

using semembed::fail;
using semembed::floatArray;

struct Geometry {
  int64_t n, h, w, ci, co, kh, kw, sh, sw, pt, pl, oh, ow;
  int64_t k() const { return kh * kw * ci; }
};

// Which kernel columns [jlo, jhi) of an output column's window fall inside the image (c0 = its first column).
inline void windowColumns(const Geometry& g, int64_t c0, int64_t* jlo, int64_t* jhi) {
  *jlo = std::min<int64_t>(g.kw, std::max<int64_t>(0, -c0));
  *jhi = std::max<int64_t>(*jlo, std::min<int64_t>(g.kw, g.w - c0));
}

// Which kernel rows [ilo, ihi) of output row p's windows fall inside the image (for the loops that skip the others).
inline void windowRows(const Geometry& g, int64_t p, int64_t* ilo, int64_t* ihi) {
  const int64_t r0 = p * g.sh - g.pt;
  *ilo = std::min<int64_t>(g.kh, std::max<int64_t>(0, -r0));
  *ihi = std::max<int64_t>(*ilo, std::min<int64_t>(g.kh, g.h - r0));
}

// Rows of the im2col matrix of images [n0, n0 + cnt): one row per output pixel, kh*kw*ci columns. In NHWC the
// kw*ci values of one kernel row are contiguous in x and in the column row, so each is one copy (a memcpy per
// ci values was as slow as the sgemm that follows).
void im2col(const float* x, const Geometry& g, int64_t n0, int64_t cnt, float* col) {
  const int64_t K = g.k();
  const int64_t seg = g.kw * g.ci;
  for (int64_t n = 0; n < cnt; n++) {
    const float* xn = x + (n0 + n) * g.h * g.w * g.ci;
    for (int64_t p = 0; p < g.oh; p++) {
      for (int64_t q = 0; q < g.ow; q++) {
        float* row = col + ((n * g.oh + p) * g.ow + q) * K;
        const int64_t c0 = q * g.sw - g.pl;
        int64_t jlo, jhi;
        windowColumns(g, c0, &jlo, &jhi);
        for (int64_t i = 0; i < g.kh; i++) {
          const int64_t r = p * g.sh - g.pt + i;
          float* dst = row + i * seg;
          if (r < 0 || r >= g.h) {
            std::fill(dst, dst + seg, 0.f);
            continue;
          }
          std::fill(dst, dst + jlo * g.ci, 0.f);
          const float* src = xn + (r * g.w + c0 + jlo) * g.ci;
          float* d = dst + jlo * g.ci;
          const int64_t len = (jhi - jlo) * g.ci;
#pragma GCC ivdep
          for (int64_t t = 0; t < len; t++) d[t] = src[t];
          std::fill(dst + jhi * g.ci, dst + seg, 0.f);
        }
      }
    }
  }
}

// Adds the columns back onto the images they came from (the adjoint of im2col).
void col2im(const float* col, const Geometry& g, int64_t n0, int64_t cnt, float* dx) {
  const int64_t K = g.k();
  const int64_t seg = g.kw * g.ci;
  for (int64_t n = 0; n < cnt; n++) {
    float* dn = dx + (n0 + n) * g.h * g.w * g.ci;
    for (int64_t p = 0; p < g.oh; p++) {
      int64_t ilo, ihi;
      windowRows(g, p, &ilo, &ihi);
      for (int64_t q = 0; q < g.ow; q++) {
        const float* row = col + ((n * g.oh + p) * g.ow + q) * K;
        const int64_t c0 = q * g.sw - g.pl;
        int64_t jlo, jhi;
        windowColumns(g, c0, &jlo, &jhi);
        for (int64_t i = ilo; i < ihi; i++) {
          const int64_t r = p * g.sh - g.pt + i;
          const float* src = row + i * seg + jlo * g.ci;
          float* d = dn + (r * g.w + c0 + jlo) * g.ci;
          const int64_t len = (jhi - jlo) * g.ci;
#pragma GCC ivdep
          for (int64_t t = 0; t < len; t++) d[t] += src[t];
        }
      }
    }
  }
}

// A 1x1, stride-1, unpadded convolution needs no im2col: the input already is the matrix.
bool isPointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w;
}

// Images per chunk: keeps the im2col buffer near 1 MB, in the core's L2 cache while sgemm reads it (16 MB chunks
// made fashion-cnn's 14x14x16 convolutions 1.5x slower).
int64_t chunkOf(const Geometry& g) {
  const int64_t perImage = std::max<int64_t>(1, g.oh * g.ow * g.k());
  return std::max<int64_t>(1, std::min<int64_t>(g.n, (int64_t{1} << 18) / perImage));
}

// One input channel and 4-64 output channels (fashion-cnn's first layer: K = 9): im2col writes a 9-wide matrix
// that sgemm runs at a fraction of its speed on, so each output pixel's channels are summed directly over the
// window taps (4-wide vectors held in registers, taps in im2col's order): conv1 forward 2.1 -> 1.2 ms at batch 100.
bool isSingleChannel(const Geometry& g) {
  return g.ci == 1 && (g.co == 4 || g.co == 8 || g.co == 16 || g.co == 32 || g.co == 64);
}

template <int C4>
void forwardSingleChannelT(const Geometry& g, const float* x, const float* w, float* y, int64_t i0, int64_t i1) {
  using semembed::f4;
  f4 acc[C4];
  for (int64_t n = i0; n < i1; n++) {
    const float* xn = x + n * g.h * g.w;
    for (int64_t p = 0; p < g.oh; p++) {
      int64_t ilo, ihi;
      windowRows(g, p, &ilo, &ihi);
      for (int64_t q = 0; q < g.ow; q++) {
        for (int64_t c = 0; c < C4; c++) acc[c] = semembed::splat4(0.f);
        const int64_t c0 = q * g.sw - g.pl;
        int64_t jlo, jhi;
        windowColumns(g, c0, &jlo, &jhi);
        for (int64_t i = ilo; i < ihi; i++) {
          const int64_t r = p * g.sh - g.pt + i;
          for (int64_t j = jlo; j < jhi; j++) {
            const f4 xv = semembed::splat4(xn[r * g.w + c0 + j]);
            const float* wr = w + (i * g.kw + j) * g.co;
            for (int64_t c = 0; c < C4; c++) acc[c] += xv * semembed::load4(wr + 4 * c);
          }
        }
        float* yr = y + ((n * g.oh + p) * g.ow + q) * g.co;
        for (int64_t c = 0; c < C4; c++) semembed::store4(yr + 4 * c, acc[c]);
      }
    }
  }
}

void forwardSingleChannel(const Geometry& g, const float* x, const float* w, float* y, int64_t i0, int64_t i1) {
  switch (g.co) {
    case 4: return forwardSingleChannelT<1>(g, x, w, y, i0, i1);
    case 8: return forwardSingleChannelT<2>(g, x, w, y, i0, i1);
    case 16: return forwardSingleChannelT<4>(g, x, w, y, i0, i1);
    case 32: return forwardSingleChannelT<8>(g, x, w, y, i0, i1);
    default: return forwardSingleChannelT<16>(g, x, w, y, i0, i1);
  }
}

enum class Op { Forward, Filter, Input };

// Images [i0, i1) of y = conv(x, w) | dw += dconv/dw (x, dy) | dx = dconv/dx (dy, w), on the calling thread
// with a single-threaded sgemm; for Filter, `out` is this part's dw, overwritten.
void runImages(Op op, const Geometry& g, const float* a, const float* b, float* out, int64_t i0, int64_t i1) {
  const int64_t K = g.k();
  const int64_t pixels = g.oh * g.ow;
  if (op == Op::Input) std::memset(out + i0 * g.h * g.w * g.ci, 0, sizeof(float) * (i1 - i0) * g.h * g.w * g.ci);
  if (op == Op::Forward && isSingleChannel(g)) return forwardSingleChannel(g, a, b, out, i0, i1);
  const bool direct = isPointwise(g);
  const int64_t chunk = chunkOf(g);
  // Uninitialised (im2col writes every value) and reused by the thread across calls.
  float* colp = direct ? nullptr : semembed::scratch(std::min(chunk, i1 - i0) * pixels * K);
  for (int64_t n0 = i0; n0 < i1; n0 += chunk) {
    const int64_t cnt = std::min(chunk, i1 - n0);
    const int64_t rows = cnt * pixels;
    switch (op) {
      case Op::Forward: {  // a = x, b = w [K x co], out = y [rows x co]
        const float* m = direct ? a + n0 * pixels * K : colp;
        if (!direct) im2col(a, g, n0, cnt, colp);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g.co, K, 1.f, m, K, b, g.co, 0.f,
                    out + n0 * pixels * g.co, g.co);
        break;
      }
      case Op::Filter: {  // a = x, b = dy [rows x co], out = dw [K x co] (accumulated over chunks)
        const float* m = direct ? a + n0 * pixels * K : colp;
        if (!direct) im2col(a, g, n0, cnt, colp);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, g.co, rows, 1.f, m, K, b + n0 * pixels * g.co, g.co,
                    n0 == i0 ? 0.f : 1.f, out, g.co);
        break;
      }
      case Op::Input: {  // a = dy [rows x co], b = w [K x co], out = dx
        float* m = direct ? out + n0 * pixels * K : colp;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, K, g.co, 1.f, a + n0 * pixels * g.co, g.co, b, g.co,
                    0.f, m, K);
        if (!direct) col2im(colp, g, n0, cnt, out);
        break;
      }
    }
  }
}

// The images split across the pool's threads (parallel.h), each part im2col + its own sgemm: at fashion-cnn's
// shapes this beat OpenBLAS's threading of the one sgemm. A filter gradient is summed over the parts' dw in part
// order (deterministic for a thread count).
void run(Op op, const Geometry& g, const float* a, const float* b, float* out) {
  const int64_t K = g.k();
  if (g.n == 0) {
    if (op == Op::Filter) std::memset(out, 0, sizeof(float) * K * g.co);
    return;
  }
  // At least ~128 K multiply-adds per part: a smaller call does not pay for waking a thread.
  const int64_t perImage = std::max<int64_t>(1, g.oh * g.ow * K * g.co);
  const int64_t grain = std::max<int64_t>(1, ((int64_t{1} << 17) + perImage - 1) / perImage);
  const int parts = semembed::partsFor(g.n, grain);
  const int64_t wsize = K * g.co;
  std::vector<float> partial(op == Op::Filter ? (parts - 1) * wsize : 0);
  semembed::runParts(g.n, parts, [&](int64_t lo, int64_t hi, int part) {
    float* o = op == Op::Filter && part > 0 ? partial.data() + (part - 1) * wsize : out;
    runImages(op, g, a, b, o, lo, hi);
  });
  for (int part = 1; op == Op::Filter && part < parts; part++) {
    const float* pw = partial.data() + (part - 1) * wsize;
    for (int64_t i = 0; i < wsize; i++) out[i] += pw[i];
  }
}

// conv(op, a, b, out, geometry[13]): op 0 forward, 1 filter gradient, 2 input gradient.
napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 5) return fail(env, "conv: expected (op, a, b, out, geometry)");
  int32_t op;
  if (napi_get_value_int32(env, argv[0], &op) != napi_ok || op < 0 || op > 2) return fail(env, "conv: bad op");
  float *a, *b, *out, *geo;
  size_t la, lb, lo, lg;
  if (!floatArray(env, argv[1], &a, &la) || !floatArray(env, argv[2], &b, &lb) ||
      !floatArray(env, argv[3], &out, &lo) || !floatArray(env, argv[4], &geo, &lg) || lg != 13) {
    return fail(env, "conv: a, b, out must be Float32Arrays and geometry a Float32Array of 13");
  }
  Geometry g{};
  int64_t* f[] = {&g.n, &g.h, &g.w, &g.ci, &g.co, &g.kh, &g.kw, &g.sh, &g.sw, &g.pt, &g.pl, &g.oh, &g.ow};
  for (int i = 0; i < 13; i++) *f[i] = static_cast<int64_t>(geo[i]);
  const size_t xs = g.n * g.h * g.w * g.ci, ws = g.k() * g.co, ys = g.n * g.oh * g.ow * g.co;
  const size_t want[3][3] = {{xs, ws, ys}, {xs, ys, ws}, {ys, ws, xs}};
  if (la != want[op][0] || lb != want[op][1] || lo != want[op][2]) {
    return fail(env, "conv: array sizes do not match the geometry");
  }
  run(static_cast<Op>(op), g, a, b, out);
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 1;
  if (argc == 1) napi_get_value_int32(env, argv[0], &n);
  openblas_set_num_threads(std::max(1, n));
  return nullptr;
}

// setNativeThreads(n): the kernels' own threads (parallel.h; 1 = none), process-wide. Returns the count in effect.
// nativeThreads(): that count (SEMEMBED_NATIVE_THREADS or the hardware's, at most 4, until set).
napi_value SetNativeThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t n = 0;
  if (!semembed::callArgs(env, info, 1, argv) || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    return fail(env, "setNativeThreads: expected a thread count >= 1");
  }
  napi_value out;
  napi_create_int32(env, semembed::ThreadPool::instance().setThreads(n), &out);
  return out;
}

napi_value NativeThreads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, semembed::ThreadPool::instance().threads(), &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  semembed::exportFunctions(env, exports,
                            {{"conv", Conv},
                             {"setThreads", SetThreads},
                             {"setNativeThreads", SetNativeThreads},
                             {"nativeThreads", NativeThreads}});
  semembed::registerElementwise(env, exports);
  semembed::registerMatMul(env, exports);
  semembed::registerPool(env, exports);
  semembed::registerBatchNorm(env, exports);
  semembed::registerSgd(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }

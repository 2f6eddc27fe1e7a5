// Max pooling and its gradient (NHWC, float32) for the wasm backend: each window's dy goes to its first strictly
// greatest input in row-major window order (the cpu backend's and TensorFlow's rule; none for an all-NaN window).
// The same loop in JavaScript on wasm-heap views ran at ~10 ns a value; the one before this, a scalar loop per
// channel with a stride of C, at 4.7 ms per fashion-cnn step. Images are split across the pool's threads
// (parallel.h); nothing is kept after return.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "napi-args.h"
#include "parallel.h"
#include "simd4.h"

namespace semembed {
namespace {

struct Pool {
  int64_t n, h, w, c, oh, ow, sh, sw, kh, kw, pt, pl;
};

// The loops over channels (NHWC: innermost and contiguous) are in non-inlined functions with restrict pointers:
// GCC kept them scalar otherwise. A window is visited in row-major order, one contiguous channel row at a time.
#define SEMEMBED_LOOP __attribute__((noinline))

// best = max(best, row) and which window position k (a float, so that one mask selects both) it came from:
// first strictly greatest, NaN never wins.
SEMEMBED_LOOP void argmaxRow(const float* __restrict row, int64_t C, float k, float* __restrict best,
                             float* __restrict pos) {
  int64_t c = 0;
  const f4 kv = splat4(k);
  for (; c + 4 <= C; c += 4) {
    const f4 r = load4(row + c), b = load4(best + c);
    const i4 gt = r > b;
    store4(best + c, select4(gt, r, b));
    store4(pos + c, select4(gt, kv, load4(pos + c)));
  }
  for (; c < C; c++) {
    if (row[c] > best[c]) {
      best[c] = row[c];
      pos[c] = k;
    }
  }
}

// The gradient of window position k: dy where it was the window's argmax, else 0; assigned (windows that tile
// the input exactly write each input once) or added (overlapping windows).
SEMEMBED_LOOP void assignRow(const float* __restrict d, const float* __restrict pos, int64_t C, float k,
                             float* __restrict dx) {
  int64_t c = 0;
  const f4 kv = splat4(k);
  for (; c + 4 <= C; c += 4) store4(dx + c, mask4(load4(pos + c) == kv, load4(d + c)));
  for (; c < C; c++) dx[c] = pos[c] == k ? d[c] : 0.f;
}
SEMEMBED_LOOP void addRow(const float* __restrict d, const float* __restrict pos, int64_t C, float k,
                          float* __restrict dx) {
  int64_t c = 0;
  const f4 kv = splat4(k);
  for (; c + 4 <= C; c += 4) store4(dx + c, load4(dx + c) + mask4(load4(pos + c) == kv, load4(d + c)));
  for (; c < C; c++) dx[c] += pos[c] == k ? d[c] : 0.f;
}

SEMEMBED_LOOP void maxRow(const float* __restrict row, int64_t C, float* __restrict best) {
  for (int64_t c = 0; c < C; c++) best[c] = row[c] > best[c] ? row[c] : best[c];
}

// Windows that tile the input exactly (2x2 stride 2 on an even size, unpadded): every input is in one window.
bool tiles(const Pool& g) {
  return g.sh == g.kh && g.sw == g.kw && g.pt == 0 && g.pl == 0 && g.oh * g.kh == g.h && g.ow * g.kw == g.w;
}

// Images [n0, n1): body(n, o, rs, re, cs, ce) for each output pixel o (index into n oh ow) with its window's
// rows [rs, re) and columns [cs, ce) clipped to the image: the forward and the gradient visit windows alike.
template <typename Body>
inline void forEachWindow(const Pool& g, int64_t n0, int64_t n1, Body body) {
  for (int64_t n = n0; n < n1; n++) {
    for (int64_t p = 0; p < g.oh; p++) {
      const int64_t r0 = p * g.sh - g.pt;
      const int64_t rs = r0 < 0 ? 0 : r0, re = r0 + g.kh < g.h ? r0 + g.kh : g.h;
      for (int64_t q = 0; q < g.ow; q++) {
        const int64_t c0 = q * g.sw - g.pl;
        const int64_t cs = c0 < 0 ? 0 : c0, ce = c0 + g.kw < g.w ? c0 + g.kw : g.w;
        body(n, (n * g.oh + p) * g.ow + q, rs, re, cs, ce);
      }
    }
  }
}

// Images [n0, n1) of the gradient.
void maxPoolGradImages(const Pool& g, const float* x, const float* dy, float* dx, int64_t n0, int64_t n1) {
  const int64_t C = g.c;
  const bool exact = tiles(g);
  if (!exact) std::memset(dx + n0 * g.h * g.w * C, 0, sizeof(float) * (n1 - n0) * g.h * g.w * C);
  float* best = scratch(C, 0);
  float* pos = scratch(C, 1);
  forEachWindow(g, n0, n1, [&](int64_t n, int64_t o, int64_t rs, int64_t re, int64_t cs, int64_t ce) {
    const int64_t xb = n * g.h * g.w * C;
    const float* d = dy + o * C;
    std::fill(best, best + C, -std::numeric_limits<float>::infinity());
    std::fill(pos, pos + C, -1.f);
    int32_t k = 0;
    for (int64_t r = rs; r < re; r++) {
      for (int64_t cc = cs; cc < ce; cc++) {
        argmaxRow(x + xb + (r * g.w + cc) * C, C, static_cast<float>(k++), best, pos);
      }
    }
    k = 0;
    for (int64_t r = rs; r < re; r++) {
      for (int64_t cc = cs; cc < ce; cc++) {
        float* out = dx + xb + (r * g.w + cc) * C;
        if (exact) {
          assignRow(d, pos, C, static_cast<float>(k++), out);
        } else {
          addRow(d, pos, C, static_cast<float>(k++), out);
        }
      }
    }
  });
}

// Images [n0, n1) of y = max over each window (-inf for a window with no input or only NaN, as the cpu
// backend's pool computes it).
void maxPoolImages(const Pool& g, const float* x, float* y, int64_t n0, int64_t n1) {
  const int64_t C = g.c;
  forEachWindow(g, n0, n1, [&](int64_t n, int64_t o, int64_t rs, int64_t re, int64_t cs, int64_t ce) {
    const int64_t xb = n * g.h * g.w * C;
    float* out = y + o * C;
    std::fill(out, out + C, -std::numeric_limits<float>::infinity());
    for (int64_t r = rs; r < re; r++) {
      for (int64_t cc = cs; cc < ce; cc++) maxRow(x + xb + (r * g.w + cc) * C, C, out);
    }
  });
}

// Images per part: at least ~32 K input values (a smaller call is not worth waking a thread for).
int64_t imageGrain(const Pool& g) {
  return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, g.h * g.w * g.c));
}

bool readPool(const float* dims, Pool* g) {
  int64_t* f[] = {&g->n, &g->h, &g->w, &g->c, &g->oh, &g->ow, &g->sh, &g->sw, &g->kh, &g->kw, &g->pt, &g->pl};
  for (int i = 0; i < 12; i++) *f[i] = static_cast<int64_t>(dims[i]);
  return g->sh >= 1 && g->sw >= 1 && g->n >= 0 && g->c >= 1 && g->kh >= 1 && g->kw >= 1 && g->kh * g->kw < (1 << 30);
}

// readPool, and whether an input of nx values (n h w c) and a pooled array of ny (n oh ow c) have its sizes.
bool readPoolFor(const float* dims, size_t nx, size_t ny, Pool* g) {
  return readPool(dims, g) && nx == static_cast<size_t>(g->n * g->h * g->w * g->c) &&
         ny == static_cast<size_t>(g->n * g->oh * g->ow * g->c);
}

// maxPoolGrad(x, dy, dx, dims[12] = n h w c oh ow sh sw kh kw pt pl)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  float* p[4];
  size_t len[4];
  if (!floatArgs(env, info, 4, p, len) || len[3] != 12) {
    return fail(env, "maxPoolGrad: expected (x, dy, dx: Float32Array, dims: Float32Array of 12)");
  }
  float *x = p[0], *dy = p[1], *dx = p[2];
  const float* dims = p[3];
  const size_t nx = len[0], ndy = len[1], ndx = len[2];
  Pool g{};
  if (!readPoolFor(dims, nx, ndy, &g) || ndx != nx) return fail(env, "maxPoolGrad: array sizes do not match the dimensions");
  parallelFor(g.n, imageGrain(g), [&](int64_t lo, int64_t hi, int) { maxPoolGradImages(g, x, dy, dx, lo, hi); });
  return nullptr;
}

// maxPool(x, y, dims[12] = n h w c oh ow sh sw kh kw pt pl)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  float* p[3];
  size_t len[3];
  if (!floatArgs(env, info, 3, p, len) || len[2] != 12) {
    return fail(env, "maxPool: expected (x, y: Float32Array, dims: Float32Array of 12)");
  }
  const float* x = p[0];
  float* y = p[1];
  Pool g{};
  if (!readPoolFor(p[2], len[0], len[1], &g)) return fail(env, "maxPool: array sizes do not match the dimensions");
  parallelFor(g.n, imageGrain(g), [&](int64_t lo, int64_t hi, int) { maxPoolImages(g, x, y, lo, hi); });
  return nullptr;
}

}  // namespace

void registerPool(napi_env env, napi_value exports) {
  exportFunctions(env, exports, {{"maxPoolGrad", MaxPoolGrad}, {"maxPool", MaxPool}});
}

}  // namespace semembed

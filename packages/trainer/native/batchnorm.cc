// BatchNormalization in training (NHWC, float32, channels last) as one forward and one backward call for the
// wasm backend: tf.moments + tf.batchNorm and their gradients were ~25 small kernels per layer and step (Sub,
// Square, Mean, Cast, FusedBatchNorm, Sum, Multiply, ...), each a pass over the activation. Here the forward is two
// passes (moments, then normalise) and the backward two (per-channel sums, then dx), each split by rows across the
// pool's threads (parallel.h). Called on views into the wasm heap; nothing is kept after return.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "napi-args.h"
#include "parallel.h"

namespace semembed {
namespace {

// The loops below take __restrict pointers in functions of their own (not inlined, where GCC dropped the
// restrict and kept every loop scalar: 3x slower on a fashion-cnn activation).
#define SEMEMBED_LOOP __attribute__((noinline))

// acc[c] += x[r * C + c] over all rows (double accumulation).
SEMEMBED_LOOP void sumRows(const float* __restrict x, size_t n, size_t C, double* __restrict acc) {
  for (size_t off = 0; off < n; off += C) {
    const float* __restrict row = x + off;
    for (size_t c = 0; c < C; c++) acc[c] += row[c];
  }
}

// acc[c] += (x - mean[c])^2, the difference and its square in float32 as tf.moments computes them.
SEMEMBED_LOOP void sumSquaredDeviations(const float* __restrict x, size_t n, size_t C, const float* __restrict mean,
                          double* __restrict acc) {
  for (size_t off = 0; off < n; off += C) {
    const float* __restrict row = x + off;
    for (size_t c = 0; c < C; c++) {
      const float d = row[c] - mean[c];
      acc[c] += d * d;
    }
  }
}

// y = (x - mean) * a + b per channel.
SEMEMBED_LOOP void normalise(const float* __restrict x, size_t n, size_t C, const float* __restrict mean,
               const float* __restrict a, const float* __restrict b, float* __restrict y) {
  for (size_t off = 0; off < n; off += C) {
    const float* __restrict row = x + off;
    float* __restrict out = y + off;
    for (size_t c = 0; c < C; c++) out[c] = (row[c] - mean[c]) * a[c] + b[c];
  }
}

// Rows per part: at least ~32 K values (a smaller pass does not pay for waking a thread).
int64_t rowGrain(size_t C) { return std::max<int64_t>(1, (int64_t{1} << 15) / static_cast<int64_t>(C)); }

// acc[c] = sum over all rows of what `partial` adds up for rows [lo, hi): each part into its own accumulator,
// then the parts added in order (the same result for a given thread count).
template <class F>
void sumOverRows(size_t rows, size_t C, size_t width, double* acc, F&& partial) {
  const int parts = partsFor(static_cast<int64_t>(rows), rowGrain(C));
  // 128 bytes between the parts' accumulators: sharing a cache line made 2 threads slower than 1 (0.9 -> 2.0 ms)
  const size_t stride = width * C + 16;
  std::vector<double> sums(parts * stride, 0.0);
  runParts(static_cast<int64_t>(rows), parts, [&](int64_t lo, int64_t hi, int part) {
    partial(static_cast<size_t>(lo), static_cast<size_t>(hi), sums.data() + part * stride);
  });
  std::fill(acc, acc + width * C, 0.0);
  for (int part = 0; part < parts; part++) {
    const double* s = sums.data() + part * stride;
    for (size_t i = 0; i < width * C; i++) acc[i] += s[i];
  }
}

// fn(offset, count) over the rows' values split into parts (row boundaries kept).
template <class F>
void overRows(size_t rows, size_t C, F&& fn) {
  parallelFor(static_cast<int64_t>(rows), rowGrain(C), [&](int64_t lo, int64_t hi, int) {
    fn(static_cast<size_t>(lo) * C, static_cast<size_t>(hi - lo) * C);
  });
}

// mean and biased variance per channel (double accumulation, the variance of the float32 differences as
// tf.moments computes it), then y = (x - mean) * gamma / sqrt(var + eps) + beta.
void forward(const float* x, size_t n, const float* gamma, const float* beta, size_t C, float eps, float* y,
             float* mean, float* var) {
  const size_t rows = n / C;
  std::vector<double> acc(C, 0.0);
  sumOverRows(rows, C, 1, acc.data(),
              [&](size_t lo, size_t hi, double* s) { sumRows(x + lo * C, (hi - lo) * C, C, s); });
  std::vector<float> m(C), a(C), b(C);
  for (size_t c = 0; c < C; c++) m[c] = static_cast<float>(acc[c] / rows);
  sumOverRows(rows, C, 1, acc.data(), [&](size_t lo, size_t hi, double* s) {
    sumSquaredDeviations(x + lo * C, (hi - lo) * C, C, m.data(), s);
  });
  for (size_t c = 0; c < C; c++) {
    mean[c] = m[c];
    var[c] = static_cast<float>(acc[c] / rows);
    a[c] = static_cast<float>(gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps));
    b[c] = beta[c];
  }
  overRows(rows, C, [&](size_t off, size_t len) { normalise(x + off, len, C, m.data(), a.data(), b.data(), y + off); });
}

// sdy[c] += dy, sdyx[c] += dy * (x - mean) * r.
SEMEMBED_LOOP void gradientSums(const float* __restrict x, const float* __restrict dy, size_t n, size_t C,
                  const float* __restrict mean, const float* __restrict r, double* __restrict sdy,
                  double* __restrict sdyx) {
  for (size_t off = 0; off < n; off += C) {
    const float* __restrict xr = x + off;
    const float* __restrict gr = dy + off;
    for (size_t c = 0; c < C; c++) {
      sdy[c] += gr[c];
      sdyx[c] += gr[c] * ((xr[c] - mean[c]) * r[c]);
    }
  }
}

// dx = k * (dy - kb - d * kx) + km + kv * d, d = x - mean.
SEMEMBED_LOOP void inputGradient(const float* __restrict x, const float* __restrict dy, size_t n, size_t C,
                   const float* __restrict mean, const float* __restrict k, const float* __restrict kb,
                   const float* __restrict kx, const float* __restrict km, const float* __restrict kv,
                   float* __restrict dx) {
  for (size_t off = 0; off < n; off += C) {
    const float* __restrict xr = x + off;
    const float* __restrict gr = dy + off;
    float* __restrict out = dx + off;
    for (size_t c = 0; c < C; c++) {
      const float d = xr[c] - mean[c];
      out[c] = k[c] * (gr[c] - kb[c] - d * kx[c]) + km[c] + kv[c] * d;
    }
  }
}

// Gradients of (y, mean, var) = forward(x, gamma, beta) given dy, dmean, dvar (the last two are zero unless
// something downstream uses the batch statistics):
//   dbeta = sum dy, dgamma = sum dy * xhat, xhat = (x - mean) * r, r = 1 / sqrt(var + eps),
//   dx = gamma * r * (dy - dbeta / N - xhat * dgamma / N) + dmean / N + dvar * 2 (x - mean) / N.
void backward(const float* x, const float* dy, size_t n, const float* gamma, const float* mean, const float* var,
              const float* dmean, const float* dvar, size_t C, float eps, float* dx, float* dgamma, float* dbeta) {
  const double rows = static_cast<double>(n / C);
  std::vector<float> m(mean, mean + C), r(C);
  for (size_t c = 0; c < C; c++) r[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + eps));
  std::vector<double> sums(2 * C);
  sumOverRows(n / C, C, 2, sums.data(), [&](size_t lo, size_t hi, double* s) {
    gradientSums(x + lo * C, dy + lo * C, (hi - lo) * C, C, m.data(), r.data(), s, s + C);
  });
  const double* sdy = sums.data();
  const double* sdyx = sums.data() + C;
  std::vector<float> k(C), kb(C), kx(C), km(C), kv(C);
  for (size_t c = 0; c < C; c++) {
    dbeta[c] = static_cast<float>(sdy[c]);
    dgamma[c] = static_cast<float>(sdyx[c]);
    k[c] = gamma[c] * r[c];
    kb[c] = static_cast<float>(sdy[c] / rows);
    kx[c] = static_cast<float>(sdyx[c] / rows) * r[c];
    km[c] = static_cast<float>(dmean[c] / rows);
    kv[c] = static_cast<float>(2.0 * dvar[c] / rows);
  }
  overRows(n / C, C, [&](size_t off, size_t len) {
    inputGradient(x + off, dy + off, len, C, m.data(), k.data(), kb.data(), kx.data(), km.data(), kv.data(), dx + off);
  });
}

// bnForward(x, gamma, beta, y, mean, var, eps)
napi_value BnForward(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  float *x, *gamma, *beta, *y, *mean, *var;
  size_t nx, ng, nb, ny, nm, nv;
  double eps;
  if (argc != 7 || !floatArray(env, argv[0], &x, &nx) || !floatArray(env, argv[1], &gamma, &ng) ||
      !floatArray(env, argv[2], &beta, &nb) || !floatArray(env, argv[3], &y, &ny) ||
      !floatArray(env, argv[4], &mean, &nm) || !floatArray(env, argv[5], &var, &nv) ||
      napi_get_value_double(env, argv[6], &eps) != napi_ok) {
    return fail(env, "bnForward: expected (x, gamma, beta, y, mean, var: Float32Array, eps: number)");
  }
  const size_t C = ng;
  if (C == 0 || nx == 0 || nx % C != 0 || nb != C || nm != C || nv != C || ny != nx) {
    return fail(env, "bnForward: sizes do not match");
  }
  forward(x, nx, gamma, beta, C, static_cast<float>(eps), y, mean, var);
  return nullptr;
}

// bnBackward(x, dy, gamma, mean, var, dmean, dvar, dx, dgamma, dbeta, eps)
napi_value BnBackward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  float* p[10];
  size_t len[10];
  double eps;
  bool ok = argc == 11 && napi_get_value_double(env, argv[10], &eps) == napi_ok;
  for (int i = 0; ok && i < 10; i++) ok = floatArray(env, argv[i], &p[i], &len[i]);
  if (!ok) return fail(env, "bnBackward: expected (x, dy, gamma, mean, var, dmean, dvar, dx, dgamma, dbeta, eps)");
  const size_t n = len[0], C = len[2];
  bool sizes = C > 0 && n > 0 && n % C == 0 && len[1] == n && len[7] == n;
  for (int i : {3, 4, 5, 6, 8, 9}) sizes = sizes && len[i] == C;
  if (!sizes) return fail(env, "bnBackward: sizes do not match");
  backward(p[0], p[1], n, p[2], p[3], p[4], p[5], p[6], C, static_cast<float>(eps), p[7], p[8], p[9]);
  return nullptr;
}

}  // namespace

void registerBatchNorm(napi_env env, napi_value exports) {
  exportFunctions(env, exports, {{"bnForward", BnForward}, {"bnBackward", BnBackward}});
}

}  // namespace semembed

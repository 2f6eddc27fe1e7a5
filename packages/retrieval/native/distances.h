// Distance blocks (smaller = closer) of nq query rows to the whole gallery, row-major nq x nb, with the same
// arithmetic as the JS engines so that rankings do not change:
//   float32: FAISS's pairwise_L2sqr (fvec_norm_L2sqr norms, q_norm + b_norm, then sgemm alpha -2 beta 1) or, for
//     inner products, faiss-node's distanceRows sgemm (alpha 1, beta 0) negated. An element's bits depend on the
//     call's shape (OpenBLAS's AVX2 kernels round N-edge tiles differently) and BLAS thread count, so a block here
//     is exactly one of the single-threaded calls faiss-node's distanceRows makes for the same rows (the rule:
//     src/blas-calls.ts);
//   float64: the exact engine's |q|^2 + |b|^2 - 2 q.b with sequential (unfused) norms, the product by dgemm.
#pragma once
#include <faiss/utils/distances.h>

#include <cstdint>
#include <vector>

extern "C" {
int sgemm_(const char* ta, const char* tb, int* m, int* n, int* k, const float* alpha, const float* a, int* lda,
           const float* b, int* ldb, const float* beta, float* c, int* ldc);
int dgemm_(const char* ta, const char* tb, int* m, int* n, int* k, const double* alpha, const double* a, int* lda,
           const double* b, int* ldb, const double* beta, double* c, int* ldc);
}

namespace semembed {

inline float squaredNorm(const float* x, int d) { return faiss::fvec_norm_L2sqr(x, d); }
inline double squaredNorm(const double* x, int d) {
  double s = 0;
  for (int t = 0; t < d; t++) s += x[t] * x[t];
  return s;
}

inline void gemm(int nb, int nq, int d, float alpha, const float* xb, const float* xq, float beta, float* out) {
  sgemm_("Transposed", "Not transposed", &nb, &nq, &d, &alpha, xb, &d, xq, &d, &beta, out, &nb);
}
inline void gemm(int nb, int nq, int d, double alpha, const double* xb, const double* xq, double beta,
                 double* out) {
  dgemm_("Transposed", "Not transposed", &nb, &nq, &d, &alpha, xb, &d, xq, &d, &beta, out, &nb);
}

// bnorms: squaredNorm of each gallery row (L2 only).
template <typename T>
void distanceBlock(const T* xq, int nq, const T* xb, int nb, int d, bool ip, const T* bnorms, T* out) {
  const int64_t NB = nb;
  if (ip) {
    gemm(nb, nq, d, T(1), xb, xq, T(0), out);
    for (int64_t i = 0; i < NB * nq; i++) out[i] = -out[i];
    return;
  }
  if constexpr (sizeof(T) == 4) {
    for (int q = 0; q < nq; q++) {
      const T qn = squaredNorm(xq + int64_t(q) * d, d);
      for (int64_t j = 0; j < NB; j++) out[q * NB + j] = qn + bnorms[j];
    }
    gemm(nb, nq, d, T(-2), xb, xq, T(1), out);
  } else {
    gemm(nb, nq, d, T(1), xb, xq, T(0), out);
    for (int q = 0; q < nq; q++) {
      const T qn = squaredNorm(xq + int64_t(q) * d, d);
      T* o = out + q * NB;
      for (int64_t j = 0; j < NB; j++) o[j] = qn + bnorms[j] - 2 * o[j];
    }
  }
}

}  // namespace semembed

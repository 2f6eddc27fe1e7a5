// Per-row reduction of one distance row to what the metrics need, ties broken by gallery index (a stable order,
// as the package's JS selection; quirk Q15): the first m items of the ranking and the 0-based positions, in the
// ranking without the query, of the query's class members (AP). No full sort: a monotonic bucket histogram
//   bucket(d) = floor((d - min) * B / (hi - min)), clamped to B - 1 (hi: the maximum of a sample of the row),
// counts every bucket in one pass; the top m lie in the buckets up to the one where the count reaches m, and a
// member's position is the count of lower buckets plus its place among the sorted items of its own bucket.
// Buckets only need to be monotonic in d (each step rounds monotonically), so they never contradict the order.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace semembed {

// The minimum of a row (no NaN here: features are checked finite): four SSE2 accumulators on x86-64, else scalar.
#ifdef __SSE2__
template <typename T>
struct Lanes;
template <>
struct Lanes<float> {
  using V = __m128;
  static constexpr int W = 4;
  static V load(const float* p) { return _mm_loadu_ps(p); }
  static V min(V a, V b) { return _mm_min_ps(a, b); }
  static void store(float* p, V v) { _mm_storeu_ps(p, v); }
};
template <>
struct Lanes<double> {
  using V = __m128d;
  static constexpr int W = 2;
  static V load(const double* p) { return _mm_loadu_pd(p); }
  static V min(V a, V b) { return _mm_min_pd(a, b); }
  static void store(double* p, V v) { _mm_storeu_pd(p, v); }
};
#endif

template <typename T>
T rowMin(const T* x, int n) {
  T lo = x[0];
  int i = 0;
#ifdef __SSE2__
  using L = Lanes<T>;
  constexpr int W = L::W, S = 4 * W;
  if (n >= S) {
    typename L::V a = L::load(x), b = L::load(x + W), c = L::load(x + 2 * W), d = L::load(x + 3 * W);
    for (i = S; i + S <= n; i += S) {
      a = L::min(a, L::load(x + i));
      b = L::min(b, L::load(x + i + W));
      c = L::min(c, L::load(x + i + 2 * W));
      d = L::min(d, L::load(x + i + 3 * W));
    }
    T v[W];
    L::store(v, L::min(L::min(a, b), L::min(c, d)));
    for (T y : v) lo = y < lo ? y : lo;
  }
#endif
  for (; i < n; i++) lo = x[i] < lo ? x[i] : lo;
  return lo;
}

template <typename T>
class RowSelector {
 public:
  RowSelector(int n, const int* labels) : n_(n), labels_(labels) {
    B_ = std::max(64, std::min(16384, n >> 2));
    bk_.resize(n);
    hist_.resize(B_);
    fill_.resize(B_);
    flag_.resize(B_);
    cand_.resize(n);
    near_.resize(n);
    grp_.resize(n + 1);
    grpD_.resize(n + 1);
  }

  // top[0..m) (m < n) and, with members (P gallery indices of the query's class, qid among them), ranks[0..P-1).
  void select(const T* row, int qid, int m, const int* members, int P, int* top, int* ranks) {
    const int n = n_, B = B_;
    T lo = rowMin(row, n);
    T hi = lo;
    const int step = std::max(1, n >> 10);
    for (int i = 0; i < n; i += step) hi = row[i] > hi ? row[i] : hi;
    if (!(hi > lo))
      for (int i = 0; i < n; i++) hi = row[i] > hi ? row[i] : hi;
    // in T: every step still rounds monotonically; a separate loop so that it vectorises
    const T scale = hi > lo ? T(B) / (hi - lo) : T(0), top_ = T(B - 1);
    uint16_t* bk = bk_.data();
    for (int i = 0; i < n; i++) {
      const T x = (row[i] - lo) * scale;
      bk[i] = static_cast<uint16_t>(x < top_ ? static_cast<int>(x) : B - 1);
    }
    // the members' buckets, and the highest: items above it matter only through the histogram (unless the top m
    // reach further, checked below)
    uint8_t* flag = flag_.data();
    std::memset(flag, 0, B);
    int mb = -1;
    if (members)
      for (int j = 0; j < P; j++)
        if (members[j] != qid) {
          flag[bk[members[j]]] = 1;
          mb = std::max(mb, int(bk[members[j]]));
        }
    // histogram, and (branch-free) the items up to bucket mb
    int* hist = hist_.data();
    std::memset(hist, 0, sizeof(int) * B);
    int* near = near_.data();
    int nn = 0;
    for (int i = 0; i < n; i++) {
      const int b = bk[i];
      hist[b]++;
      near[nn] = i;
      nn += b <= mb;
    }
    int tb = 0;  // the bucket where the running count reaches m
    for (int acc = 0; tb < B; tb++) {
      acc += hist[tb];
      if (acc >= m) break;
    }
    if (tb > mb) {
      nn = 0;
      for (int i = 0; i < n; i++) {
        near[nn] = i;
        nn += bk[i] <= tb;
      }
    }
    // the items of member buckets grouped by bucket, with their distances; other buckets write to a dummy slot
    // that never advances
    int* fill = fill_.data();
    int at = 0;
    for (int b = 0; b < B; b++)
      if (flag[b]) {
        fill[b] = at;
        at += hist[b];
      }
    for (int b = 0; b < B; b++)
      if (!flag[b]) fill[b] = at;
    int* cand = cand_.data();
    int* grp = grp_.data();
    T* grpD = grpD_.data();
    int nc = 0;
    // branch-free per near item (which items qualify is data-dependent, hence unpredictable)
    for (int t = 0; t < nn; t++) {
      const int i = near[t], b = bk[i], f = fill[b];
      cand[nc] = i;
      nc += b <= tb;
      grp[f] = i;
      grpD[f] = row[i];
      fill[b] = f + flag[b];
    }
    auto before = [row](int a, int b) { return row[a] < row[b] || (row[a] == row[b] && a < b); };
    if (nc > m) std::nth_element(cand, cand + m, cand + nc, before);
    std::sort(cand, cand + m, before);
    std::memcpy(top, cand, sizeof(int) * m);
    if (!members) return;
    // member j's position: items of lower buckets + items of its bucket before it, the query not counted
    const int lbl = labels_[qid];
    const T dq = row[qid];
    int below = 0, r = 0;
    for (int b = 0; b < B; below += hist[b], b++) {
      if (!flag[b]) continue;
      const int g0 = fill[b] - hist[b], g1 = fill[b];
      const int r0 = r;
      for (int p = g0; p < g1; p++) {
        const int j = grp[p];
        if (j == qid || labels_[j] != lbl) continue;
        const T dj = grpD[p];
        int k = 0;
        for (int t = g0; t < g1; t++) k += grpD[t] < dj || (grpD[t] == dj && grp[t] < j);
        const bool q = dq < dj || (dq == dj && qid < j);  // the query ranks before j (anywhere below)
        ranks[r++] = below + k - q;
      }
      std::sort(ranks + r0, ranks + r);  // members of one bucket come in index order
    }
  }

  // The whole ranking into order[0..n) and, with members, the ranks as select() gives them.
  void full(const T* row, int qid, int* order, bool ap, int* ranks) {
    const int n = n_;
    if constexpr (sizeof(T) == 4) {
      radixOrder(row, order);
    } else {
      for (int i = 0; i < n; i++) order[i] = i;
      std::sort(order, order + n, [row](int a, int b) { return row[a] < row[b] || (row[a] == row[b] && a < b); });
    }
    if (!ap) return;
    const int lbl = labels_[qid];
    for (int p = 0, pos = 0, r = 0; p < n; p++) {
      const int i = order[p];
      if (i == qid) continue;
      if (labels_[i] == lbl) ranks[r++] = pos;
      pos++;
    }
  }

 private:
  // A stable LSD radix sort (11 + 11 + 10 bits) of the rows' order-preserving float bits, -0 as +0: ties by index.
  void radixOrder(const float* row, int* order) {
    const int n = n_;
    keys_.resize(n);
    tmp_.resize(n);
    uint32_t* u = keys_.data();
    int* a = tmp_.data();
    std::vector<int> h(3 * 2048, 0);
    for (int i = 0; i < n; i++) {
      uint32_t v;
      std::memcpy(&v, row + i, 4);
      if (v == 0x80000000u) v = 0;
      v = (v >> 31) ? ~v : (v | 0x80000000u);
      u[i] = v;
      h[v & 2047]++;
      h[2048 + ((v >> 11) & 2047)]++;
      h[4096 + (v >> 22)]++;
    }
    for (int d = 0; d < 3; d++)
      for (int j = d * 2048, acc = 0; j < (d + 1) * 2048; j++) {
        const int c = h[j];
        h[j] = acc;
        acc += c;
      }
    for (int i = 0; i < n; i++) order[h[u[i] & 2047]++] = i;
    for (int t = 0; t < n; t++) a[h[2048 + ((u[order[t]] >> 11) & 2047)]++] = order[t];
    for (int t = 0; t < n; t++) order[h[4096 + (u[a[t]] >> 22)]++] = a[t];
  }
  void radixOrder(const double*, int*) {}

  int n_, B_;
  std::vector<uint32_t> keys_;
  std::vector<int> tmp_;
  const int* labels_;
  std::vector<uint16_t> bk_;
  std::vector<int> hist_, fill_, cand_, grp_, near_;
  std::vector<T> grpD_;
  std::vector<uint8_t> flag_;
};

}  // namespace semembed

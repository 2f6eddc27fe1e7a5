// Per-row reduction of one distance row to what the metrics need, ties broken by gallery index (a stable order,
// as the package's JS selection; quirk Q15): the first m items of the ranking and the 0-based positions, in the
// ranking without the query, of the query's class members (AP). No full sort: a monotonic bucket histogram
//   bucket(d) = floor((d - min) * B / (hi - min)), clamped to B - 1 (hi: the maximum of a sample of the row),
// counts every bucket in one pass; the top m lie in the buckets up to the one where the count reaches m, and a
// member's position is the count of lower buckets plus its place among the sorted items of its own bucket (counted
// per member in small buckets; crowded ones, e.g. a whole class at nearly one distance, are sorted once).
// Buckets only need to be monotonic in d (each step rounds monotonically), so they never contradict the order.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
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
    if constexpr (sizeof(T) == 4) {  // the radix sort's
      keys_.resize(n);
      tmp_.resize(n);
      radixHist_.resize(3 * 2048);
    }
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
    // the items of member buckets grouped by bucket (each in ascending index order), with their distances; other
    // buckets write to a dummy slot that never advances
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
    auto first = [row](int a, int b) { return before(row, a, b); };
    if (nc > m) std::nth_element(cand, cand + m, cand + nc, first);
    std::sort(cand, cand + m, first);
    std::memcpy(top, cand, sizeof(int) * m);
    if (!members) return;
    // member j's position: items of lower buckets + items of its bucket before it, the query not counted
    const int lbl = labels_[qid];
    const T dq = row[qid];
    int below = 0, r = 0;
    for (int b = 0; b < B; below += hist[b], b++) {
      if (!flag[b]) continue;
      const int g0 = fill[b] - hist[b], g1 = fill[b];
      if (g1 - g0 > kSmallBucket) {
        r = crowdedRanks(row, grp + g0, g1 - g0, qid, lbl, dq, below, ranks, r);
        continue;
      }
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
    for (int i = 0; i < n; i++) order[i] = i;
    sortItems(row, order, n);
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
  // Buckets of more items than this sort their items once instead of counting, per member, the items before it
  // (members x items compares: ~1M per row when a class crowds into a few buckets, as on the main job's features).
  static constexpr int kSmallBucket = 32;
  // From this many items a float32 sort is a radix sort (fixed cost: three 2048-entry histograms), below std::sort.
  static constexpr int kRadixFrom = 256;

  static bool before(const T* row, int a, int b) { return row[a] < row[b] || (row[a] == row[b] && a < b); }

  // The ranks of the class members among the g items list[0..g) of one bucket (in ascending index order), appended
  // at ranks[r..]; returns the new r. Once sorted by (distance, index), a member's place k is the count of the
  // bucket's items before it, as the quadratic loop counts them, so the ranks come out ascending. Reorders list.
  int crowdedRanks(const T* row, int* list, int g, int qid, int lbl, T dq, int below, int* ranks, int r) {
    sortItems(row, list, g);
    for (int k = 0; k < g; k++) {
      const int j = list[k];
      if (j == qid || labels_[j] != lbl) continue;
      const T dj = row[j];
      const bool q = dq < dj || (dq == dj && qid < j);
      ranks[r++] = below + k - q;
    }
    return r;
  }

  // Sorts the gallery indices list[0..g), given in ascending order, by (row[i], i).
  void sortItems(const T* row, int* list, int g) {
    if constexpr (sizeof(T) == 4) {
      if (g >= kRadixFrom) {
        uint32_t* u = keys_.data();
        for (int t = 0; t < g; t++) u[list[t]] = orderBits(row[list[t]]);
        radixSort(u, list, g);
        return;
      }
    }
    std::sort(list, list + g, [row](int a, int b) { return before(row, a, b); });
  }

  // Order-preserving bits of a float, -0 as +0.
  static uint32_t orderBits(float x) {
    uint32_t v;
    std::memcpy(&v, &x, 4);
    if (v == 0x80000000u) v = 0;
    return (v >> 31) ? ~v : (v | 0x80000000u);
  }

  // A stable LSD radix sort (11 + 11 + 10 bits) of list[0..g) by u[list[t]]: ties keep their order. A digit that
  // all g keys share is skipped (a bucket's distances often agree in their top bits).
  void radixSort(const uint32_t* u, int* list, int g) {
    int* h = radixHist_.data();
    std::memset(h, 0, sizeof(int) * 3 * 2048);
    for (int t = 0; t < g; t++) {
      const uint32_t v = u[list[t]];
      h[v & 2047]++;
      h[2048 + ((v >> 11) & 2047)]++;
      h[4096 + (v >> 22)]++;
    }
    int *src = list, *dst = tmp_.data();
    for (int d = 0; d < 3; d++) {
      int* H = h + d * 2048;
      const int shift = 11 * d;
      if (H[(u[src[0]] >> shift) & 2047] == g) continue;
      for (int j = 0, acc = 0; j < 2048; j++) {
        const int c = H[j];
        H[j] = acc;
        acc += c;
      }
      for (int t = 0; t < g; t++) dst[H[(u[src[t]] >> shift) & 2047]++] = src[t];
      std::swap(src, dst);
    }
    if (src != list) std::memcpy(list, src, sizeof(int) * g);
  }

  int n_, B_;
  std::vector<uint32_t> keys_;
  std::vector<int> tmp_;
  const int* labels_;
  std::vector<uint16_t> bk_;
  std::vector<int> hist_, fill_, cand_, grp_, near_;
  std::vector<T> grpD_;
  std::vector<int> radixHist_;
  std::vector<uint8_t> flag_;
};

}  // namespace semembed

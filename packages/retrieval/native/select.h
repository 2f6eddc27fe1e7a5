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

namespace semembed {

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
    grp_.resize(n);
  }

  // top[0..m) (m < n) and, with members (P gallery indices of the query's class, qid among them), ranks[0..P-1).
  void select(const T* row, int qid, int m, const int* members, int P, int* top, int* ranks) {
    const int n = n_, B = B_;
    T lo = row[0];
    for (int i = 1; i < n; i++) lo = row[i] < lo ? row[i] : lo;
    T hi = lo;
    const int step = std::max(1, n >> 10);
    for (int i = 0; i < n; i += step) hi = row[i] > hi ? row[i] : hi;
    if (!(hi > lo))
      for (int i = 0; i < n; i++) hi = row[i] > hi ? row[i] : hi;
    const double dlo = static_cast<double>(lo);
    const double scale = hi > lo ? B / (static_cast<double>(hi) - dlo) : 0.0;
    uint16_t* bk = bk_.data();
    int* hist = hist_.data();
    std::memset(hist, 0, sizeof(int) * B);
    for (int i = 0; i < n; i++) {
      const double x = (static_cast<double>(row[i]) - dlo) * scale;
      const int b = x >= B ? B - 1 : static_cast<int>(x);
      bk[i] = static_cast<uint16_t>(b);
      hist[b]++;
    }
    int tb = 0;  // the bucket where the running count reaches m
    for (int acc = 0; tb < B; tb++) {
      acc += hist[tb];
      if (acc >= m) break;
    }
    uint8_t* flag = flag_.data();
    std::memset(flag, 0, B);
    if (members)
      for (int j = 0; j < P; j++)
        if (members[j] != qid) flag[bk[members[j]]] = 1;
    int* fill = fill_.data();
    for (int b = 0, at = 0; b < B; b++)
      if (flag[b]) {
        fill[b] = at;
        at += hist[b];
      }
    int* cand = cand_.data();
    int* grp = grp_.data();
    int nc = 0;
    for (int i = 0; i < n; i++) {
      const int b = bk[i];
      if (b <= tb) cand[nc++] = i;
      if (flag[b]) grp[fill[b]++] = i;
    }
    auto before = [row](int a, int b) { return row[a] < row[b] || (row[a] == row[b] && a < b); };
    if (nc > m) std::nth_element(cand, cand + m, cand + nc, before);
    std::sort(cand, cand + m, before);
    std::memcpy(top, cand, sizeof(int) * m);
    if (!members) return;
    const int lbl = labels_[qid], qb = bk[qid];
    int below = 0, r = 0;
    for (int b = 0; b < B; below += hist[b], b++) {
      if (!flag[b]) continue;
      int* g = grp + fill[b] - hist[b];
      std::sort(g, g + hist[b], before);
      bool qseen = qb < b;
      for (int p = 0; p < hist[b]; p++) {
        const int i = g[p];
        if (i == qid)
          qseen = true;
        else if (labels_[i] == lbl)
          ranks[r++] = below + p - (qseen ? 1 : 0);
      }
    }
  }

  // The whole ranking into order[0..n) and, with members, the ranks as select() gives them.
  void full(const T* row, int qid, int* order, bool ap, int* ranks) {
    const int n = n_;
    for (int i = 0; i < n; i++) order[i] = i;
    std::sort(order, order + n, [row](int a, int b) { return row[a] < row[b] || (row[a] == row[b] && a < b); });
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
  int n_, B_;
  const int* labels_;
  std::vector<uint16_t> bk_;
  std::vector<int> hist_, fill_, cand_, grp_;
  std::vector<uint8_t> flag_;
};

}  // namespace semembed

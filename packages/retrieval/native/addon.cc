// N-API entry points of the native retrieval kernel (loaded by src/native.ts):
//   create(gallery, dim, ip, labels, depth, ap, threads, rowsPerCall) -> handle (gallery: Float32Array | Float64Array)
//   start(handle, queries, q0, top, ranks, rankOffsets): scores queries q0.. (one block) on background threads
//   wait(handle): joins them; the outputs are then complete
//   blasInfo() -> { core, threads }: the OpenBLAS kernel in use (OPENBLAS_CORETYPE) and its thread count
// The block's rows are cut, from its first row, into BLAS calls of rowsPerCall rows (src/blas-calls.ts: the JS
// kernel's faiss-node distanceRows makes the same single-threaded calls, hence the same bits on any CPU); the threads
// claim whole calls, compute their distances (distances.h) and reduce every row at once (select.h):
// top[r * depth ..] = the first depth items of row r's ranking, ranks[rankOffsets[r] ..] = AP positions of its class
// members. start() returns at once, so the caller computes the metrics of the previous block while the next one is
// ranked.
#include <node_api.h>
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "distances.h"
#include "select.h"

namespace {

using semembed::RowSelector;

struct Job {
  std::vector<std::thread> threads;
  std::vector<napi_ref> refs;
  int blasThreads = 0;
};

template <typename T>
struct Engine {
  int n, d, depth, threads;
  bool ip, ap;
  std::vector<T> xb, bnorms, xq;
  std::vector<int> labels, members, classStart;
  std::vector<std::unique_ptr<RowSelector<T>>> selectors;
  std::vector<std::vector<T>> dist;
  int chunk;
  std::atomic<int> nextCall{0};

  // Thread t: BLAS calls c = 0, 1, .. of the block (rows [c * chunk, (c + 1) * chunk)) until none is left; which
  // thread takes a call does not change its bits.
  void run(int t, int rows, int q0, int* top, int* ranks, const int* off) {
    RowSelector<T>& sel = *selectors[t];
    T* D = dist[t].data();
    for (int c; (c = nextCall.fetch_add(1)) * int64_t(chunk) < rows;) {
      const int r0 = c * chunk, r1 = std::min(rows, r0 + chunk);
      semembed::distanceBlock(xq.data() + int64_t(r0) * d, r1 - r0, xb.data(), n, d, ip, bnorms.data(), D);
      for (int r = r0; r < r1; r++) {
        const int q = q0 + r, lbl = labels[q];
        const int* mem = members.data() + classStart[lbl];
        const int P = classStart[lbl + 1] - classStart[lbl];
        const T* row = D + int64_t(r - r0) * n;
        if (depth >= n)
          sel.full(row, q, top + int64_t(r) * depth, ap, ranks + off[r]);
        else
          sel.select(row, q, depth, ap ? mem : nullptr, P, top + int64_t(r) * depth, ranks + off[r]);
      }
    }
  }
};

struct Handle {
  bool f64;
  std::unique_ptr<Engine<float>> e32;
  std::unique_ptr<Engine<double>> e64;
  Job job;
  bool busy = false;
};

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

bool typed(napi_env env, napi_value v, napi_typedarray_type* type, void** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_value buf;
  size_t offset;
  return napi_get_typedarray_info(env, v, type, len, data, &buf, &offset) == napi_ok;
}

int32_t intArg(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

void joinJob(Handle* h) {
  for (auto& t : h->job.threads) t.join();
  h->job.threads.clear();
  if (h->job.blasThreads > 0) openblas_set_num_threads(h->job.blasThreads);
  h->busy = false;
}

void finalize(napi_env, void* data, void*) {
  auto* h = static_cast<Handle*>(data);
  if (h->busy) joinJob(h);
  delete h;
}

template <typename T>
std::unique_ptr<Engine<T>> makeEngine(const T* x, size_t len, int d, bool ip, const int* labels, int depth, bool ap,
                                      int threads, int rowsPerCall) {
  auto e = std::make_unique<Engine<T>>();
  const int n = static_cast<int>(len / d);
  e->n = n, e->d = d, e->ip = ip, e->ap = ap, e->depth = depth, e->threads = threads;
  e->xb.assign(x, x + len);
  e->labels.assign(labels, labels + n);
  if (!ip) {
    e->bnorms.resize(n);
    for (int j = 0; j < n; j++) e->bnorms[j] = semembed::squaredNorm(x + int64_t(j) * d, d);
  }
  int C = 0;
  for (int i = 0; i < n; i++) C = std::max(C, labels[i] + 1);
  e->classStart.assign(C + 1, 0);
  for (int i = 0; i < n; i++) e->classStart[labels[i] + 1]++;
  for (int c = 0; c < C; c++) e->classStart[c + 1] += e->classStart[c];
  std::vector<int> at(e->classStart.begin(), e->classStart.end() - 1);
  e->members.resize(n);
  for (int i = 0; i < n; i++) e->members[at[labels[i]]++] = i;
  e->chunk = rowsPerCall;
  for (int t = 0; t < threads; t++) {
    e->selectors.push_back(std::make_unique<RowSelector<T>>(n, e->labels.data()));
    e->dist.emplace_back(size_t(e->chunk) * n);
  }
  return e;
}

napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 8)
    return fail(env, "create(gallery, dim, ip, labels, depth, ap, threads, rowsPerCall): 8 arguments expected");
  napi_typedarray_type gt, lt;
  void *gd, *ld;
  size_t glen, llen;
  if (!typed(env, argv[0], &gt, &gd, &glen) || (gt != napi_float32_array && gt != napi_float64_array))
    return fail(env, "create: gallery must be a Float32Array or Float64Array");
  const int d = intArg(env, argv[1]), depth = intArg(env, argv[4]), threads = intArg(env, argv[6]);
  const int rowsPerCall = intArg(env, argv[7]);
  bool ip = false, ap = false;
  napi_get_value_bool(env, argv[2], &ip);
  napi_get_value_bool(env, argv[5], &ap);
  if (!typed(env, argv[3], &lt, &ld, &llen) || lt != napi_int32_array) return fail(env, "create: labels: Int32Array");
  if (d < 1 || glen % d != 0 || glen / d != llen || llen < 2 || llen >= (1u << 31) / 2)
    return fail(env, "create: gallery length, dim and labels do not match");
  if (depth < 1 || depth > static_cast<int>(llen) || threads < 1 || threads > 64)
    return fail(env, "create: bad depth or thread count");
  if (rowsPerCall < 1 || int64_t(rowsPerCall) * int64_t(llen) > (int64_t(1) << 31))
    return fail(env, "create: rowsPerCall must be 1.. with rowsPerCall * gallery items < 2^31");
  const int* labels = static_cast<const int*>(ld);
  for (size_t i = 0; i < llen; i++)
    if (labels[i] < 0) return fail(env, "create: negative label");
  auto* h = new Handle();
  h->f64 = gt == napi_float64_array;
  if (h->f64)
    h->e64 = makeEngine(static_cast<const double*>(gd), glen, d, ip, labels, depth, ap, threads, rowsPerCall);
  else
    h->e32 = makeEngine(static_cast<const float*>(gd), glen, d, ip, labels, depth, ap, threads, rowsPerCall);
  napi_value out;
  napi_create_external(env, h, finalize, nullptr, &out);
  return out;
}

Handle* handleOf(napi_env env, napi_value v) {
  void* p = nullptr;
  if (napi_get_value_external(env, v, &p) != napi_ok) return nullptr;
  return static_cast<Handle*>(p);
}

template <typename T>
napi_value startOn(napi_env env, Handle* h, Engine<T>& e, napi_value* argv, const void* qd, size_t qlen) {
  const int rows = static_cast<int>(qlen / e.d), q0 = intArg(env, argv[2]);
  napi_typedarray_type tt, rt, ot;
  void *td, *rd, *od;
  size_t tlen, rlen, olen;
  if (qlen % e.d != 0 || rows < 1 || q0 < 0 || q0 + rows > e.n) return fail(env, "start: bad query block");
  if (!typed(env, argv[3], &tt, &td, &tlen) || tt != napi_int32_array || tlen < size_t(rows) * e.depth)
    return fail(env, "start: top must be an Int32Array of rows * depth");
  if (!typed(env, argv[5], &ot, &od, &olen) || ot != napi_int32_array || olen < size_t(rows) + 1)
    return fail(env, "start: rankOffsets must be an Int32Array of rows + 1");
  int* off = static_cast<int*>(od);
  off[0] = 0;
  for (int r = 0; r < rows; r++) {
    const int lbl = e.labels[q0 + r];
    off[r + 1] = off[r] + (e.ap ? e.classStart[lbl + 1] - e.classStart[lbl] - 1 : 0);
  }
  if (!typed(env, argv[4], &rt, &rd, &rlen) || rt != napi_int32_array || rlen < size_t(off[rows]))
    return fail(env, "start: ranks must be an Int32Array large enough for the block's class members");
  e.xq.assign(static_cast<const T*>(qd), static_cast<const T*>(qd) + qlen);
  for (int i : {3, 4, 5}) {
    napi_ref ref;
    napi_create_reference(env, argv[i], 1, &ref);
    h->job.refs.push_back(ref);
  }
  // our threads each run a single-threaded BLAS on their own rows (restored by wait)
  h->job.blasThreads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  h->busy = true;
  e.nextCall = 0;
  Engine<T>* ep = &e;
  int *top = static_cast<int*>(td), *ranks = static_cast<int*>(rd);
  for (int t = 0; t < e.threads; t++)
    h->job.threads.emplace_back([ep, t, rows, q0, top, ranks, off] { ep->run(t, rows, q0, top, ranks, off); });
  return nullptr;
}

// Exactly `count` arguments into argv, the first a handle: the handle, else nullptr.
template <size_t count>
Handle* handleArgs(napi_env env, napi_callback_info info, napi_value (&argv)[count]) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc == count ? handleOf(env, argv[0]) : nullptr;
}

napi_value Start(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Handle* h = handleArgs(env, info, argv);
  if (!h) return fail(env, "start(handle, queries, q0, top, ranks, rankOffsets): bad arguments");
  if (h->busy) return fail(env, "start: the previous block is still running (call wait first)");
  napi_typedarray_type qt;
  void* qd;
  size_t qlen;
  if (!typed(env, argv[1], &qt, &qd, &qlen) || qt != (h->f64 ? napi_float64_array : napi_float32_array))
    return fail(env, "start: queries must have the gallery's type");
  if (h->f64) return startOn(env, h, *h->e64, argv, qd, qlen);
  return startOn(env, h, *h->e32, argv, qd, qlen);
}

napi_value Wait(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Handle* h = handleArgs(env, info, argv);
  if (!h) return fail(env, "wait(handle): bad handle");
  if (h->busy) joinJob(h);
  for (napi_ref r : h->job.refs) napi_delete_reference(env, r);
  h->job.refs.clear();
  return nullptr;
}

napi_value BlasInfo(napi_env env, napi_callback_info) {
  napi_value out, core, threads;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core);
  napi_create_int32(env, openblas_get_num_threads(), &threads);
  napi_set_named_property(env, out, "core", core);
  napi_set_named_property(env, out, "threads", threads);
  return out;
}

void exportFunction(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

napi_value Init(napi_env env, napi_value exports) {
  exportFunction(env, exports, "create", Create);
  exportFunction(env, exports, "start", Start);
  exportFunction(env, exports, "wait", Wait);
  exportFunction(env, exports, "blasInfo", BlasInfo);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

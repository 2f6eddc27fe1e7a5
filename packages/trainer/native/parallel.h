// Intra-op parallelism for the addon's kernels: one small fixed pool of native threads per process, created on
// first use, that splits a kernel's leading axis (images, rows) into as many parts as there are threads. The
// data-parallel workers of parallel.ts halve the batch but leave every kernel call's fixed cost undivided; here a
// call's work is split instead, and OpenBLAS stays at one thread (its own threading only covered the sgemm).
//
// Determinism: how a call is split depends only on its shape and threads() (never on timing or on which thread
// is free or claims which part), and partial results (BatchNorm's per-channel sums, a filter gradient) are kept
// per part and combined in part order, so a result is bit-for-bit the same for a given thread count. Node worker threads share the addon and so this pool:
// a call made while another thread's call holds the pool runs all its parts itself, in the same split.
//
// SEMEMBED_NATIVE_THREADS sets the count (1 = no helper threads); the default is the hardware's, at most 4
// (fashion-cnn's kernels are memory passes of a few MB; beyond that the memory bandwidth is shared anyway).
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace semembed {

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class ThreadPool {
 public:
  static constexpr int kMaxThreads = 64;

  // Never destroyed: its workers are detached and outlive every caller (a joinable std::thread at exit aborts).
  static ThreadPool& instance() {
    static ThreadPool* pool = new ThreadPool();
    return *pool;
  }

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  // Sets how many parts calls are split into (1..kMaxThreads); starts the missing workers. Returns the count.
  int setThreads(int n) {
    std::lock_guard<std::mutex> busy(busy_);
    n = std::max(1, std::min(kMaxThreads, n));
    while (started_ < n - 1) {
      started_++;
      // The generation it starts from is read here, under busy_: no job can be posted before it runs.
      const uint32_t from = static_cast<uint32_t>(state_.load() >> 32);
      std::thread([this, from] { workerLoop(from); }).detach();
    }
    threads_.store(n);
    return n;
  }

  // task(i) for i in [0, parts), parts <= threads(). The parts are claimed one by one by the calling thread and
  // the workers that are awake, so a worker the OS has not scheduled (a busy machine) delays nothing: the caller
  // runs its part. What a part computes does not depend on which thread runs it.
  void run(int parts, const std::function<void(int)>& task) {
    if (parts <= 1) {
      if (parts == 1) task(0);
      return;
    }
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another thread's call holds the pool: same parts, all run here
      for (int i = 0; i < parts; i++) task(i);
      return;
    }
    task_ = &task;
    done_.store(0, std::memory_order_relaxed);
    const uint32_t gen = ++generation_;
    state_.store(pack(gen, parts, 0), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    work(gen);
    // Only parts that a running worker claimed are left: wait for them.
    for (int spins = 0; done_.load(std::memory_order_acquire) != parts; spins++) {
      if (spins < 4096) {
        cpuRelax();
      } else {
        std::this_thread::yield();
      }
    }
    task_ = nullptr;
  }

 private:
  ThreadPool() {
    const char* env = std::getenv("SEMEMBED_NATIVE_THREADS");
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int n = std::min(hw, 4);
    if (env != nullptr && *env != '\0') n = std::atoi(env);
    setThreads(n);
  }

  // state_: the job's generation (32 bits), its part count and the next unclaimed part (16 bits each).
  static uint64_t pack(uint32_t gen, int parts, int next) {
    return uint64_t{gen} << 32 | static_cast<uint64_t>(parts) << 16 | static_cast<uint64_t>(next);
  }

  // The next part of job `gen`, or -1 when all are claimed or a newer job was posted. A claimed part keeps its
  // job (and task_) alive: the caller waits until every part is done before it posts the next one.
  int claim(uint32_t gen) {
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(s >> 32) != gen) return -1;
      const int parts = static_cast<int>((s >> 16) & 0xffff), next = static_cast<int>(s & 0xffff);
      if (next >= parts) return -1;
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return next;
    }
  }

  void work(uint32_t gen) {
    for (int i; (i = claim(gen)) >= 0;) {
      (*task_)(i);
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  void workerLoop(uint32_t seen) {
    const auto generation = [this] { return static_cast<uint32_t>(state_.load(std::memory_order_seq_cst) >> 32); };
    for (;;) {
      // Kernels come in bursts (a training step is ~100 calls, often < 50 us apart): spin that long before
      // sleeping. Longer spins burnt a core through the JavaScript between calls; a late wake-up costs nothing but
      // the speed-up of that call (the caller claims the parts itself).
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      for (int spins = 0; generation() == seen; spins++) {
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          wake_.wait(lock, [&] { return generation() != seen; });
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
          break;
        }
        cpuRelax();
      }
      seen = generation();
      work(seen);
    }
  }

  std::atomic<int> threads_{1};
  int started_ = 0;       // workers started (under busy_)
  uint32_t generation_ = 0;  // the last job's (under busy_)
  std::mutex busy_;       // held by the caller whose job the workers run
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> state_{0};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  const std::function<void(int)>* task_ = nullptr;
};

// [lo, hi) of part i when [0, n) is split into `parts` nearly equal ranges, the first ones one larger.
inline void partRange(int64_t n, int parts, int i, int64_t* lo, int64_t* hi) {
  const int64_t base = n / parts, extra = n % parts;
  *lo = i * base + std::min<int64_t>(i, extra);
  *hi = *lo + base + (i < extra ? 1 : 0);
}

// How many parts [0, n) is split into: the pool's threads, but each part at least `grain` items (small calls
// stay on the calling thread: waking a worker costs more than they take). Depends only on n and the thread count.
inline int partsFor(int64_t n, int64_t grain) {
  const int64_t byWork = grain > 0 ? n / grain : n;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(ThreadPool::instance().threads(), byWork)));
}

// fn(lo, hi, part) over `parts` parts of [0, n) (parts from partsFor, read once per call).
template <class F>
void runParts(int64_t n, int parts, F&& fn) {
  if (parts <= 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  const std::function<void(int)> task = [&](int i) {
    int64_t lo, hi;
    partRange(n, parts, i, &lo, &hi);
    fn(lo, hi, i);
  };
  ThreadPool::instance().run(parts, task);
}

// fn(lo, hi, part) over the parts of [0, n), each at least `grain` items.
template <class F>
void parallelFor(int64_t n, int64_t grain, F&& fn) {
  runParts(n, partsFor(n, grain), fn);
}

// A per-thread scratch buffer of at least n floats, reused across calls (page-faulting a fresh 1 MB im2col
// buffer on every call cost as much as filling it). Valid until the same thread asks again.
template <class T = float>
T* scratch(size_t n, int slot = 0) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace semembed

#include "thread_pool.h"

#include "pool_ticket.h"

#include <stdint.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif
#include <stdio.h>
#include <stdlib.h>

namespace bt {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long an idle worker keeps polling for the next job before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(300);

// BERT_TS_POOL_TRACE=FILE (a diagnostic, off unless set): what the pool did with each job, written
// to FILE at exit, one line per job (bench/pool-trace.ts summarises it per task function):
//   task-fn ntasks helper-tasks asleep start helper-end caller-end end gap
// task-fn: the task function's offset in the addon (hex; `nm` names it); asleep: a helper was
// asleep on the condition variable when the job was published; start: ns from publication to a
// helper's first claim (-1: no helper took a task); helper-end: ns from publication to the end of
// the helpers' last task (-1: none); caller-end: when the caller's own tasks ended; end: when the
// job ended (every task done); gap: ns since the previous job ended (the caller's time outside the
// pool). Tells a helper that starts late or sleeps from one that is preempted or slower.
class Trace {
 public:
  struct Job {
    long long published, helper_first, helper_last, caller_done, end, gap;
    TaskFn fn;
    int ntasks, helper_tasks, asleep;
  };
  static long long now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  static Trace* get() {  // nullptr unless tracing
    static Trace* t = open();
    return t;
  }
  // The caller, before publishing a job; false when the trace is full.
  bool begin(Job* j) {
    if (n_ >= kCap) return false;
    *j = Job{};
    j->published = now_ns();
    j->gap = last_end_ ? j->published - last_end_ : 0;
    helper_first_.store(0, std::memory_order_relaxed);
    helper_last_.store(0, std::memory_order_relaxed);
    helper_tasks_.store(0, std::memory_order_relaxed);
    return true;
  }
  // A helper, around each task it runs.
  void helper_task_start() {
    if (helper_tasks_.fetch_add(1, std::memory_order_relaxed) == 0) helper_first_.store(now_ns(), std::memory_order_relaxed);
  }
  void helper_task_end() { helper_last_.store(now_ns(), std::memory_order_relaxed); }
  // The caller, once every task is done (the helpers' stores happen before their done_ increments).
  void end(Job* j, TaskFn fn, int ntasks) {
    j->end = last_end_ = now_ns();
    j->fn = fn;
    j->ntasks = ntasks;
    j->helper_tasks = helper_tasks_.load(std::memory_order_relaxed);
    j->helper_first = helper_first_.load(std::memory_order_relaxed);
    j->helper_last = helper_last_.load(std::memory_order_relaxed);
    jobs_[n_++] = *j;
  }

 private:
  static constexpr int kCap = 1 << 20;
  static Trace* open() {
    const char* path = getenv("BERT_TS_POOL_TRACE");
    if (!path || !*path) return nullptr;
    Trace* t = new Trace();
    t->path_ = path;
    t->jobs_ = static_cast<Job*>(calloc(kCap, sizeof(Job)));
    if (!t->jobs_) return nullptr;
    atexit([] { get()->write(); });
    return t;
  }
  void write() {
    FILE* f = fopen(path_, "w");
    if (!f) {
      fprintf(stderr, "bert-ts: BERT_TS_POOL_TRACE: cannot write %s\n", path_);
      return;
    }
    for (int i = 0; i < n_; i++) {
      const Job& j = jobs_[i];
      long offset = (long)(uintptr_t)j.fn;
#if defined(__unix__) || defined(__APPLE__)
      Dl_info info;
      if (dladdr(reinterpret_cast<void*>(j.fn), &info) && info.dli_fbase) offset = (long)((uintptr_t)j.fn - (uintptr_t)info.dli_fbase);
#endif
      const long long since = j.published;
      fprintf(f, "%lx %d %d %d %lld %lld %lld %lld %lld\n", offset, j.ntasks, j.helper_tasks, j.asleep,
              j.helper_first ? j.helper_first - since : -1, j.helper_last ? j.helper_last - since : -1,
              j.caller_done - since, j.end - since, j.gap);
    }
    fclose(f);
  }
  const char* path_ = nullptr;
  Job* jobs_ = nullptr;
  int n_ = 0;  // the caller's (one job at a time: busy_)
  long long last_end_ = 0;
  std::atomic<long long> helper_first_{0}, helper_last_{0};
  std::atomic<int> helper_tasks_{0};
};

class Pool {
 public:
  void set_threads(int n) {
    std::lock_guard<std::mutex> busy(busy_);
    if (n < 1) n = 1;
    threads_.store(n);
    // Workers are only ever added; a smaller count just leaves the extra ones asleep.
    while ((int)workers_.size() < n - 1) {
      int index = (int)workers_.size() + 1;
      // The generation is read here, under busy_ (no job running), not when the thread first runs:
      // a job started in between must still be seen as new.
      unsigned long seen = gen_.load(std::memory_order_acquire);
      workers_.emplace_back([this, index, seen] { worker(index, seen); });
      workers_.back().detach();
    }
  }
  int threads() const { return threads_.load(); }

  void run(int ntasks, TaskFn fn, void* ctx) {
    if (ntasks <= 0) return;
    const int t = threads_.load();
    if (t <= 1 || ntasks == 1 || !busy_.try_lock()) {
      for (int i = 0; i < ntasks; i++) fn(ctx, i);
      return;
    }
    // More tasks than a ticket counts: rounds of kMaxTasks (no caller comes near it).
    for (int base = 0; base < ntasks; base += pool_ticket::kMaxTasks) {
      const int n = ntasks - base < pool_ticket::kMaxTasks ? ntasks - base : pool_ticket::kMaxTasks;
      uint32_t gen;
      Trace* trace = Trace::get();
      Trace::Job traced;
      if (trace && !trace->begin(&traced)) trace = nullptr;
      {
        std::lock_guard<std::mutex> lk(m_);
        if (trace) traced.asleep = asleep_;
        fn_ = fn;
        ctx_ = ctx;
        ntasks_ = n;
        base_ = base;
        helpers_ = t - 1;
        gen = (uint32_t)gen_.load(std::memory_order_relaxed) + 1;
        done_.store(0, std::memory_order_relaxed);
        ticket_.store(pool_ticket::open(gen), std::memory_order_relaxed);
        gen_.store(gen, std::memory_order_release);
      }
      cv_.notify_all();
      work(gen, fn, ctx, n, base, false);
      if (trace) traced.caller_done = Trace::now_ns();
      // Every task is taken; wait for the ones helpers are still running. Normally microseconds; if
      // a helper was descheduled mid-task (more runnable threads than cores), yield instead of
      // burning the time slice it needs.
      for (unsigned spins = 0; done_.load(std::memory_order_acquire) != n; spins++) {
        if (spins < 4096) cpu_relax();
        else std::this_thread::yield();
      }
      if (trace) trace->end(&traced, fn, n);
    }
    busy_.unlock();
  }

 private:
  // Claims and runs tasks of job `gen` until none is left. A task is claimed by advancing the ticket
  // (job generation | tasks taken from the front | tasks taken from the back): a helper that arrives
  // after its job ended (or while the next one is set up) sees another generation and claims
  // nothing, so the caller never waits for a helper that has not started, only for tasks already
  // running. The caller takes tasks from the front, helpers from the back: the ops split rows in
  // index order (GEMM, LayerNorm, attention by sequence position), so each core keeps taking
  // roughly the same rows op after op and reads what it wrote itself (in its own L2) instead of
  // pulling the other core's modified lines; the two meet wherever the work balances.
  void work(uint32_t gen, TaskFn fn, void* ctx, int ntasks, int base, bool from_back) {
    uint64_t t = ticket_.load(std::memory_order_acquire), next;
    int task;
    while (pool_ticket::next_claim(t, gen, ntasks, from_back, &task, &next)) {
      if (ticket_.compare_exchange_weak(t, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
        Trace* trace = from_back ? Trace::get() : nullptr;
        if (trace) trace->helper_task_start();
        fn(ctx, base + task);
        if (trace) trace->helper_task_end();
        done_.fetch_add(1, std::memory_order_release);
        t = ticket_.load(std::memory_order_acquire);
      }
    }
  }

  void worker(int index, unsigned long seen) {
    for (;;) {
      auto until = std::chrono::steady_clock::now() + kSpin;
      unsigned spins = 0;
      while (gen_.load(std::memory_order_acquire) == seen) {
        cpu_relax();
        if ((++spins & 1023u) == 0 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lk(m_);
          asleep_ = true;
          cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
          asleep_ = false;
          break;
        }
      }
      TaskFn fn;
      void* ctx;
      int ntasks, base, helpers;
      {
        // The job fields and its generation are written together under m_; read them together.
        std::lock_guard<std::mutex> lk(m_);
        seen = gen_.load(std::memory_order_relaxed);
        fn = fn_;
        ctx = ctx_;
        ntasks = ntasks_;
        base = base_;
        helpers = helpers_;
      }
      if (index <= helpers) work((uint32_t)seen, fn, ctx, ntasks, base, true);
    }
  }

  std::mutex busy_;  // held by the caller of the running job
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<unsigned long> gen_{0};
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int ntasks_ = 0;
  int base_ = 0;
  int helpers_ = 0;
  bool asleep_ = false;  // a worker waits on cv_ (under m_; for BERT_TS_POOL_TRACE)
  std::atomic<int> threads_{1};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: detached workers may outlive static destructors
  return *p;
}

}  // namespace

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? (int)n : 1;
}

void pool_set_threads(int n) { pool().set_threads(n); }
int pool_threads() { return pool().threads(); }
void parallel_for(int ntasks, TaskFn fn, void* ctx) { pool().run(ntasks, fn, ctx); }

}  // namespace bt

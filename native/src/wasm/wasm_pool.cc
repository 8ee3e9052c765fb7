// thread_pool.h for the threaded WebAssembly build: one module instance per thread, all over one
// shared linear memory (src/backend/wasm-threads.ts starts them in Web Workers or worker_threads).
// The calling thread ("leader", whoever calls the kernels) takes part, as in the native pool;
// helper instances sit in bt_worker_loop, spinning briefly after each job and then sleeping in
// memory.atomic.wait32. The leader never blocks in wait (a page's main thread may not): it spins
// until the tasks the helpers took are done, which is microseconds.
//
// Shared state is plain static data (linear memory is shared; every instance sees it). Per-instance
// state is only the stack: each helper runs on a stack the leader allocated, which is also how a
// thread finds its own scratch slot (thread_local would need a TLS block per instance).
#include <stdint.h>
#include <stdlib.h>

#include <atomic>

#include <emscripten/stack.h>

#include "../kernels/pool_ticket.h"
#include "../kernels/thread_pool.h"

namespace bt {
namespace {

constexpr int kMaxThreads = 64;
// Polls of an idle helper before it sleeps (~50 us): long enough to span the JS between two kernel
// calls of one forward pass (copies, the next op's set-up), so that a sentence's ~40 calls do not
// each pay a wake-up from memory.atomic.wait32 (tens of us; far more on a busy machine).
constexpr int kSpins = 1 << 15;

struct Slot {
  uintptr_t stack_lo = 0, stack_hi = 0;  // the helper's stack; 0..0 for the leader (slot 0)
  float* scratch = nullptr;
  size_t floats = 0;
};

// Every field is atomic (sequentially consistent, as all wasm atomics are): a helper that reads a
// job's fields and then wins a claim on its ticket has read that job's fields, see run().
std::atomic<uint32_t> g_gen{0};
// The native pool's ticket (pool_ticket.h): the leader claims from the first task up, helpers from
// the last down.
std::atomic<uint64_t> g_ticket{0};
std::atomic<int> g_done{0};
std::atomic<TaskFn> g_fn{nullptr};
std::atomic<void*> g_ctx{nullptr};
std::atomic<int> g_ntasks{0};
std::atomic<int> g_base{0};  // the round's first task (jobs of more than kMaxTasks run in rounds)
std::atomic<int> g_helpers{0};
std::atomic<int> g_threads{1};   // wanted, caller included
std::atomic<int> g_started{0};   // helpers inside bt_worker_loop
std::atomic<int> g_alloc_lock{0};
std::atomic<uint32_t> g_helper_tasks{0};  // tasks run by helpers: tests check that threads share work
Slot g_slots[kMaxThreads];

using pool_ticket::kMaxTasks;
// "Taken from the front" no job reaches (kMaxTasks is one short of it): claims closed.
constexpr uint64_t kClosed = pool_ticket::kCountMask << pool_ticket::kCountBits;
void work(uint32_t gen, TaskFn fn, void* ctx, int ntasks, int base, bool helper) {
  uint64_t t = g_ticket.load(), next;
  int task;
  while (pool_ticket::next_claim(t, gen, ntasks, helper, &task, &next)) {
    if (g_ticket.compare_exchange_weak(t, next)) {
      fn(ctx, base + task);
      if (helper) g_helper_tasks.fetch_add(1);
      g_done.fetch_add(1);
      t = g_ticket.load();
    }
  }
}

int current_slot() {
  const uintptr_t sp = emscripten_stack_get_current();
  for (int i = 1; i < kMaxThreads; i++)
    if (sp > g_slots[i].stack_lo && sp <= g_slots[i].stack_hi) return i;
  return 0;
}

}  // namespace

void pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  g_threads.store(n);
}

// Helpers that are not running yet are not counted: a job never waits for a thread that has not started.
int pool_threads() {
  const int want = g_threads.load(), have = 1 + g_started.load();
  return want < have ? want : have;
}

int available_cpus() { return kMaxThreads; }

void parallel_for(int ntasks, TaskFn fn, void* ctx) {
  if (ntasks <= 0) return;
  const int t = pool_threads();
  if (t <= 1 || ntasks == 1) {
    for (int i = 0; i < ntasks; i++) fn(ctx, i);
    return;
  }
  for (int base = 0; base < ntasks; base += kMaxTasks) {
    const int n = ntasks - base < kMaxTasks ? ntasks - base : kMaxTasks;
    const uint32_t gen = g_gen.load() + 1;
    // Close claims first (a helper still looking at the previous job claims nothing from here on),
    // then publish the job, then open its tickets, then wake the helpers.
    g_ticket.store(pool_ticket::open(gen) | kClosed);
    g_fn.store(fn);
    g_ctx.store(ctx);
    g_ntasks.store(n);
    g_base.store(base);
    g_helpers.store(t - 1);
    g_done.store(0);
    g_ticket.store(pool_ticket::open(gen));
    g_gen.store(gen);
    __builtin_wasm_memory_atomic_notify((int*)&g_gen, (unsigned)(t - 1));
    work(gen, fn, ctx, n, base, false);
    while (g_done.load() != n) {
    }
  }
}

// Scratch of the calling thread, grown on demand. Allocation is serialised by a spin lock: the
// module's malloc has no locks of its own (the leader allocates freely outside parallel loops, when
// no helper runs anything).
float* thread_scratch(size_t floats) {
  Slot& s = g_slots[current_slot()];
  if (floats > s.floats) {
    int expected = 0;
    while (!g_alloc_lock.compare_exchange_weak(expected, 1)) expected = 0;
    free(s.scratch);
    s.scratch = static_cast<float*>(aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
    s.floats = s.scratch ? floats : 0;
    g_alloc_lock.store(0);
  }
  return s.scratch;
}

}  // namespace bt

// A helper instance's whole life: runs on the stack [stack_lo, stack_hi) (the caller switched to it
// with stackRestore(stack_hi) first) and never returns.
extern "C" __attribute__((used, export_name("bt_worker_loop"))) void bt_worker_loop(int index, uintptr_t stack_lo, uintptr_t stack_hi) {
  using namespace bt;
  if (index < 1 || index >= kMaxThreads) return;
  g_slots[index].stack_lo = stack_lo;
  g_slots[index].stack_hi = stack_hi;
  // Counted once its slot is set: only then may it take tasks (index <= helpers <= started).
  g_started.fetch_add(1);
  uint32_t seen = g_gen.load();
  for (;;) {
    uint32_t gen = g_gen.load();
    for (int spins = 0; gen == seen && spins < kSpins; spins++) gen = g_gen.load();
    if (gen == seen) {
      __builtin_wasm_memory_atomic_wait32((int*)&g_gen, (int)seen, -1);
      continue;
    }
    seen = gen;
    TaskFn fn = g_fn.load();
    void* ctx = g_ctx.load();
    const int ntasks = g_ntasks.load(), base = g_base.load(), helpers = g_helpers.load();
    if (index <= helpers) work(gen, fn, ctx, ntasks, base, true);
  }
}

extern "C" __attribute__((used, export_name("bt_helper_tasks"))) uint32_t bt_helper_tasks() { return bt::g_helper_tasks.load(); }

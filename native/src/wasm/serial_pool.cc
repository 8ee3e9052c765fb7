// thread_pool.h for the single-threaded WebAssembly build: every parallel loop runs on the caller.
#include "../kernels/thread_pool.h"

namespace bt {
void pool_set_threads(int) {}
int pool_threads() { return 1; }
int available_cpus() { return 1; }
void parallel_for(int ntasks, TaskFn fn, void* ctx) {
  for (int t = 0; t < ntasks; t++) fn(ctx, t);
}
}  // namespace bt

// No helpers here: see wasm_pool.cc.
extern "C" __attribute__((used, export_name("bt_helper_tasks"))) unsigned bt_helper_tasks() { return 0; }

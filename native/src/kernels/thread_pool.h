// A small process-wide thread pool for synchronous parallel loops. The calling thread takes part;
// workers spin briefly after each job (the model calls ops back to back) and then sleep.
// Several JS threads may call in at once (main thread, worker_threads): one job runs on the pool at
// a time, and a caller that finds it busy runs its loop alone, on its own thread.
#pragma once
#include <stddef.h>

namespace bt {

typedef void (*TaskFn)(void* ctx, int task);

// Sets the number of threads used by parallel loops, caller included (>= 1).
void pool_set_threads(int n);
int pool_threads();
// CPUs this process may run on (sched_getaffinity), at least 1.
int available_cpus();
// Runs fn(ctx, t) for t in [0, ntasks), tasks handed out dynamically (the calling thread from
// t = 0 upwards, the workers from ntasks - 1 downwards); returns when all are done.
void parallel_for(int ntasks, TaskFn fn, void* ctx);

#if defined(BT_POOL_SCRATCH)
// Per-thread scratch of at least `floats` floats, 64-byte aligned, from the pool (the threaded
// WebAssembly build, native/src/wasm/wasm_pool.cc, where thread_local has no storage per instance).
float* thread_scratch(size_t floats);
#endif

}  // namespace bt

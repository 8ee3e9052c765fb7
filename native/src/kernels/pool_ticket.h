#pragma once
// The ticket both thread pools hand a job's tasks out with (thread_pool.cc natively, wasm_pool.cc
// in WebAssembly): job generation (top 24 bits) | tasks taken from the front | tasks taken from the
// back (20 bits each). The calling thread claims from the first task up and helpers from the last
// down (why: thread_pool.cc). A claim is one compare-exchange of the whole ticket, so a helper that
// still holds an older job's generation claims nothing of the new one.
#include <stdint.h>

namespace bt {
namespace pool_ticket {
constexpr int kCountBits = 20, kGenShift = 2 * kCountBits;
constexpr uint64_t kCountMask = (1ull << kCountBits) - 1, kGenMask = (1ull << (64 - kGenShift)) - 1;
// Tasks a ticket counts (a job of more runs in rounds of this many); one short of the count's
// range, so that a front count of kCountMask can mark a closed ticket (wasm_pool.cc).
constexpr int kMaxTasks = (int)kCountMask - 1;

// Job gen's ticket with no task taken yet.
inline uint64_t open(uint32_t gen) { return ((uint64_t)gen & kGenMask) << kGenShift; }

// For ticket t and job gen of ntasks tasks: false when t is another job's or no task is left;
// else the task a claim from this end takes and the ticket that claim leaves.
inline bool next_claim(uint64_t t, uint32_t gen, int ntasks, bool from_back, int* task, uint64_t* next) {
  if ((t >> kGenShift) != ((uint64_t)gen & kGenMask)) return false;
  const int front = (int)((t >> kCountBits) & kCountMask), back = (int)(t & kCountMask);
  if (front + back >= ntasks) return false;
  *task = from_back ? ntasks - 1 - back : front;
  *next = from_back ? t + 1 : t + (1ull << kCountBits);
  return true;
}
}  // namespace pool_ticket
}  // namespace bt

// Half-precision rows to float32 with the CPU's own conversion instruction (F16C's vcvtph2ps), for
// the embedding gather (ops.cc): exact like the 256 KB lookup table it replaces there, but with no
// table to miss in the cache after the GEMMs of a batch evicted it. x86-64 only; elsewhere, and on
// CPUs without F16C, f16c_rows_available() is false and callers keep the table.
#pragma once
#include <stdint.h>

namespace bt {
bool f16c_rows_available();
// out[0, n) = the f16 values h[0, n) as float32 (bit patterns, so the caller's buffer may be typed either way).
void f16c_row_to_f32(const uint16_t* h, uint32_t* out, int n);
}  // namespace bt

// AVX-512 instantiation of kernels_impl.inc. The only file built with AVX-512 flags (see
// binding.gyp); called only after cpu.cc found avx512f/bw/dq/vl at run time.
#include <immintrin.h>
#include "api.h"

// 9 x 48: 27 accumulators + 3 weight vectors + the broadcast = 31 of 32 zmm. On Zen 4 (AVX-512 on
// 256-bit units) 9 rows ran 4-6% faster than 8 on one thread at every BERT shape (103-105 -> 108-111
// GFLOP/s against the probe's 118), and 7 rows as fast as 9; 9 keeps more reuse of each weight load.
// Rows per tile change no value: every element is the same chain of FMAs whatever the tile.
#ifndef BT_AVX512_MR
#define BT_AVX512_MR 9
#endif
#ifndef BT_AVX512_NV
#define BT_AVX512_NV 3
#endif

namespace bt {
namespace avx512 {
#define BT_ISA_NAME "avx512"
#define BT_MR BT_AVX512_MR
#define BT_NV BT_AVX512_NV
#define BT_KC 512  // B micro-panel 96 KB and an 8-panel chunk 768 KB: in the 1 MB L2 of Zen 4
#define BT_PACK_A 0
#define BT_MC 128
#define BT_NCP 8
#define BT_QR 4
#define BT_JB 4
#define BT_WR 8   // whole-row attention: 8 rows x 3 key vectors = 24 score accumulators
#define BT_WJB 3
#define BT_WDB 2  // 8 rows x 2 head-dim vectors = 16 context accumulators
#include "simd_avx512.inc"
#include "kernels_impl.inc"
}  // namespace avx512

const IsaKernels* kernels_avx512() { return &avx512::kTable; }
}  // namespace bt

// AVX2 + FMA instantiation of kernels_impl.inc. The only file built with -mavx2 -mfma (see
// binding.gyp); called only after cpu.cc found avx2 and fma at run time.
#include <immintrin.h>
#include "api.h"

namespace bt {
namespace avx2 {
#define BT_ISA_NAME "avx2"
#define BT_MR 6
#define BT_NV 2
#define BT_KC 256
#define BT_PACK_A 0
#define BT_MC 96
#define BT_NCP 24
#define BT_QR 4
#define BT_JB 2
#define BT_WR 6   // whole-row attention: 6 x 2 vector tiles (12 accumulators of 16 registers)
#define BT_WJB 2
#define BT_WDB 2
#include "simd_avx2.inc"
#include "kernels_impl.inc"
}  // namespace avx2

const IsaKernels* kernels_avx2() { return &avx2::kTable; }
}  // namespace bt

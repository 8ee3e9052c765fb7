// AVX2 + FMA instantiation of lowp_impl.inc: the portable int8 / bf16 loops vectorised by the
// compiler for AVX2 (no VNNI needed), and the AVX2 FMA peak probe.
#include <immintrin.h>
#include "api.h"

namespace bt {
namespace avx2_lowp {
#define BT_LOWP_NAME "avx2"
#define BT_LOWP_AVX2 1
constexpr int LNR = 16;
constexpr int LMR = 4;
constexpr int LMC = 64;
#include "lowp_impl.inc"
}  // namespace avx2_lowp

const LowpKernels* lowp_avx2() { return &avx2_lowp::kLowpTable; }
}  // namespace bt

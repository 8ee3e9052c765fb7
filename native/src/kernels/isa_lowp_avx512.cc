// AVX-512 VNNI + BF16 instantiation of lowp_impl.inc (int8 / bf16 GEMM, peak probes). Its own static
// library with its own flags (binding.gyp): used only when the CPU has avx512vnni and avx512bf16.
#include <immintrin.h>
#include "api.h"

namespace bt {
namespace avx512_lowp {
#define BT_LOWP_NAME "avx512-vnni-bf16"
#define BT_LOWP_AVX512 1
constexpr int LNR = 48;  // 3 zmm of int32 / float32 accumulators per row
constexpr int LMR = 8;   // 24 accumulators + 3 weight vectors + the broadcast: 28 of 32 zmm
constexpr int LMC = 64;
#include "simd_avx512.inc"  // for act_impl.inc: the epilogue applies the activation in registers
#include "act_impl.inc"
#include "lowp_impl.inc"
}  // namespace avx512_lowp

const LowpKernels* lowp_avx512() { return &avx512_lowp::kLowpTable; }
}  // namespace bt

// Portable instantiation of kernels_impl.inc: baseline compiler flags, no intrinsics. Runs anywhere.
// Compiled for WebAssembly with -msimd128 (scripts/build-wasm.mjs), the same slot holds the SIMD128
// kernels instead: there they are the baseline.
#include "api.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace bt {
namespace generic {
#if defined(__wasm_simd128__)
#define BT_ISA_NAME "wasm-simd128"
#ifndef BT_WASM_MR
#define BT_WASM_MR 4
#endif
#ifndef BT_WASM_NV
#define BT_WASM_NV 2
#endif
#ifndef BT_WASM_PACK_A
#define BT_WASM_PACK_A 0
#endif
// KC 384: MiniLM's K = 384 GEMMs (3 of a layer's 4) in one K-block, not 256 + 128; one panel per
// chunk (its y tile stays in L1 across K-blocks). Measured on the 6 layers of MiniLM-L6 in a row,
// 40 rows (one sentence) and 1280 (a batch): +13% and +16% over KC 256 / MC 64 / NCP 24 (CPU time).
#ifndef BT_WASM_KC
#define BT_WASM_KC 384
#endif
#ifndef BT_WASM_MC
#define BT_WASM_MC 128
#endif
#ifndef BT_WASM_NCP
#define BT_WASM_NCP 1
#endif
#define BT_MR BT_WASM_MR
#define BT_NV BT_WASM_NV
#define BT_KC BT_WASM_KC
#define BT_PACK_A BT_WASM_PACK_A
#define BT_MC BT_WASM_MC
#define BT_NCP BT_WASM_NCP
#define BT_QR 4
#define BT_JB 2
#include "simd_wasm.inc"
#else
#define BT_ISA_NAME "generic"
#define BT_MR 4
#define BT_NV 2
#define BT_KC 256
#define BT_PACK_A 1
#define BT_MC 64
#define BT_NCP 48
#define BT_QR 2
#define BT_JB 2
#include "simd_generic.inc"
#endif
#include "kernels_impl.inc"
}  // namespace generic

const IsaKernels* kernels_generic() { return &generic::kTable; }
}  // namespace bt

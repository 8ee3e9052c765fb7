// Portable instantiation of kernels_impl.inc: baseline compiler flags, no intrinsics. Runs anywhere.
#include "api.h"

namespace bt {
namespace generic {
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
#include "kernels_impl.inc"
}  // namespace generic

const IsaKernels* kernels_generic() { return &generic::kTable; }
}  // namespace bt

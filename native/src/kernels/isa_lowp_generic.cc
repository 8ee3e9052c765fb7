// Portable instantiation of lowp_impl.inc: baseline compiler flags, plain C++. Runs anywhere.
#include "api.h"

namespace bt {
namespace generic_lowp {
#define BT_LOWP_NAME "generic"
constexpr int LNR = 8;
constexpr int LMR = 4;
constexpr int LMC = 64;
#include "lowp_impl.inc"
}  // namespace generic_lowp

const LowpKernels* lowp_generic() { return &generic_lowp::kLowpTable; }
}  // namespace bt

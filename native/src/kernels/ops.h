// The operations the N-API glue calls: ISA selection, weight packing, and the threaded drivers for
// linear, residual + LayerNorm and attention. Plain C++ over float*, no N-API types.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "api.h"

namespace bt {

// Kernels for an ISA, or nullptr when this CPU (or this build) does not support it.
const IsaKernels* kernels_for(int isa);
// The fastest ISA this CPU supports.
int best_isa();
const char* isa_name(int isa);

// Element formats a weight may be packed from (converted exactly to float32 while packing).
enum WeightFormat : int { kWeightF32 = 0, kWeightF16 = 1, kWeightBF16 = 2 };

// Packs an nn.Linear weight [n, k] stored as `format` (and optional float32 bias [n]) for the
// ISA's micro-kernel. Returns nullptr when out of memory.
PackedLinear* pack_linear(int isa, const void* weight, int format, const float* bias, int n, int k);
void free_linear(PackedLinear* w);

// y[m, n] = act(x[m, k] . W^T + b).
void linear(const PackedLinear& w, const float* x, int m, float* y, int act);

// y[rows, cols] = LayerNorm(x + residual) * gamma + beta; residual may be null.
void add_layernorm(int isa, const float* x, const float* residual, int rows, int cols, const float* gamma,
                   const float* beta, float eps, float* y);

// Packed multi-head attention, one parallel task per (sequence, head).
// seq_starts: [nseq + 1]; probs: null, or per sequence s (in order) [heads, len_s, len_s] concatenated.
// bias: null, or [heads][2 * bias_max_distance + 1] added to the scaled scores by distance j - i
// (every sequence at most bias_max_distance + 1 long; the caller checks).
void attention(int isa, const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
               float* context, float* probs, const float* bias, int bias_max_distance);

// Softmax attention of each sequence's first query row, one task per (sequence, head); bias may be
// null. out: per sequence s, [heads, len_s] at heads * seq_starts[s].
void first_row_attention(int isa, const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim,
                         float scale, const PositionBiasArgs* bias, float* out);

}  // namespace bt

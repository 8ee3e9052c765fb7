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

// Low-precision kernels for a float kernel set: AVX-512 VNNI/BF16 when the CPU has them, else the
// AVX2 or portable loops. Never null for a supported isa.
const LowpKernels* lowp_for(int isa);

// Packs an nn.Linear weight [n, k] stored as `format` (and optional float32 bias [n]) for the
// ISA's micro-kernel, in precision `dtype` (Dtype: float32, bf16 rounded to nearest even, or int8
// quantised symmetrically per output channel). Returns nullptr when out of memory.
PackedLinear* pack_linear(int isa, const void* weight, int format, const float* bias, int n, int k, int dtype = kDtypeF32);
void free_linear(PackedLinear* w);

// The packed form of a layer as bytes (a header, then its arrays), so that a second load of the same
// weights can skip the packing (int8 / bf16: the quantisation; float32: the strided repacking and any
// f16 -> f32 conversion): packed_size() bytes; export_packed writes them. import_packed checks the
// header against this build and CPU (kernel set, dtype, panel width, sizes) and returns nullptr when
// the bytes do not describe a layer it can run.
size_t packed_size(const PackedLinear& w);
void export_packed(const PackedLinear& w, uint8_t* out);
PackedLinear* import_packed(int isa, const uint8_t* in, size_t len);
// Like import_packed, but the layer's arrays point into `in` instead of copies (a mapped cache file:
// its pages are already in memory, where fresh pages must first be faulted in). nullptr also when an
// array would not start 64-byte aligned. The caller keeps `in` readable for the layer's lifetime
// and releases the layer with free_linear_view.
PackedLinear* view_packed(int isa, const uint8_t* in, size_t len);
void free_linear_view(PackedLinear* w);

// y[m, n] = act(x[m, k] . W^T + b). Low-precision weights first convert x per row: bf16 (nearest
// even) or u8 with a zero point (x ~ (q - zp) * scale, the row's range [min(x, 0), max(x, 0)] in 255
// steps; a row holding NaN or Inf gives NaN outputs).
void linear(const PackedLinear& w, const float* x, int m, float* y, int act);

// y[rows, cols] = LayerNorm(x + residual) * gamma + beta; residual may be null.
void add_layernorm(int isa, const float* x, const float* residual, int rows, int cols, const float* gamma,
                   const float* beta, float eps, float* y);

// y[m, n] = LayerNorm(x . W^T + b + residual) * gamma + beta: linear() then add_layernorm(), with the
// same bits, but when the work split gives every task whole rows (low precision with enough rows,
// float32 on one task) each task normalises its rows right after computing them, while they are in
// its cache, instead of a second parallel pass over y. y must not overlap x or residual.
void linear_add_layernorm(const PackedLinear& w, const float* x, int m, const float* residual, const float* gamma,
                          const float* beta, float eps, float* y);

// Embeddings then LayerNorm, per row r (BertEmbeddings.forward):
//   y[r] = LayerNorm((words[ids[r]] + types[type_ids[r]]) + positions[pos_ids[r]]) * gamma + beta,
// summed in that float32 order; types null: words[ids[r]] + positions[pos_ids[r]]. words is a
// [vocab, width] table stored as `format` (WeightFormat: float32, or f16 / bf16 bits converted
// exactly). The LayerNorm is add_layernorm's (the sum's two parts as x and residual), so the result is
// bit-identical to gathering the sums first. Every id must be inside its table (the caller checks).
void embedding_layernorm(int isa, const void* words, int format, const float* types, const float* positions,
                         const int32_t* ids, const int32_t* type_ids, const int32_t* pos_ids, int rows, int width,
                         const float* gamma, const float* beta, float eps, float* y);

// y[s] = mean of rows seq_starts[s] .. seq_starts[s+1]-1 of x [rows, width]: float64 sums in row
// order, divided by the length, rounded to float32 (an empty sequence gives NaN). One task per sequence.
void mean_pool(const float* x, const int32_t* seq_starts, int nseq, int width, float* y);

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

// Arithmetic operations per second (GOPS; a multiply-add counts 2) of a register-only loop of
// float32 FMAs (kind 0), VPDPBUSD (1) or VDPBF16PS (2) on `threads` threads at once: the limit of
// this machine for that instruction. 0 when the kernel set has no such instruction.
double peak_gops(int isa, int kind, int threads);

// Per-operation wall-clock totals, kept when BERT_TS_PROFILE is set (non-empty, not "0"). With it,
// a linear layer's activation runs as its own pass after the GEMM (same values) so that it is
// timed apart. Keys like "linear int8 1152x384", "activation gelu", "attention", "layernorm".
bool profiling();
struct ProfileEntry {
  char op[48];
  long calls;
  double seconds;      // wall clock
  double cpu_seconds;  // the calling thread's CPU time (with 1 thread: the op's cost, whatever the host's load)
  double helper_cpu_seconds;  // pool helpers' CPU time in the op's tasks (spinning between jobs excluded)
  double flops;  // arithmetic operations counted for the op (0 when not meaningful)
};
// Copies up to `max` entries into out; returns how many exist.
int profile_entries(ProfileEntry* out, int max);
void profile_reset();

}  // namespace bt

// The ISA-neutral kernel interface: plain structs and a table of function pointers, one table per
// instruction set (AVX-512, AVX2+FMA, portable). Nothing here depends on N-API.
//
// Every kernel keeps the batch-invariance contract of src/backend/backend.ts: an output row is
// computed from its own input row (attention: its own sequence) with a fixed sequence of floating
// point operations that does not depend on how many rows there are, where the row sits, how the
// work is split over threads, or which edge path a tile takes.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace bt {

enum Activation : int { kActNone = 0, kActGelu = 1, kActGeluTanh = 2, kActRelu = 3, kActTanh = 4 };

enum Isa : int { kIsaGeneric = 0, kIsaAvx2 = 1, kIsaAvx512 = 2, kIsaCount = 3 };

// Precision a linear layer's weights are packed in (and its GEMM runs in); everything else is float32.
enum Dtype : int { kDtypeF32 = 0, kDtypeBF16 = 1, kDtypeInt8 = 2 };

struct LowpKernels;

// A linear layer's weight repacked for one ISA's micro-kernel.
// y[m, n] = act(sum_k x[m, k] * w[n, k] + bias[n]).
// Packed layout: panels of `nr` output columns; panel p holds, for k = 0..K-1, the nr weights
// w[p*nr + 0 .. p*nr + nr-1, k] contiguously (zero beyond N). A K-block [k0, k0+kc) of a panel is
// therefore the contiguous slice b + p*K*nr + k0*nr.
struct PackedLinear {
  int isa;
  int n;       // out features
  int k;       // in features
  int nr;      // panel width
  int panels;  // ceil(n / nr)
  float* b;    // panels * k * nr floats, 64-byte aligned
  float* bias; // panels * nr floats (zero padded) or nullptr
  size_t bytes;
  // Low precision (dtype bf16 or int8; b is then null). K is padded to kp (a multiple of 4 for int8,
  // of 2 for bf16) and each panel stores, per group of kg = 4 (int8) or 2 (bf16) consecutive k, the
  // nr columns' kg values side by side: element (column c, k) of panel p sits at
  // p*kp*nr + (k / kg)*nr*kg + c*kg + k % kg. That is the operand order of VPDPBUSD / VDPBF16PS.
  int dtype;
  int kp;
  const LowpKernels* lowp;
  int8_t* q;         // int8: symmetric per output channel, w ~ q * wscale[n]
  float* wscale;     // int8: panels * nr
  int32_t* colsum;   // int8: sum over k of q[n, k], for the activations' zero point
  uint16_t* h;       // bf16 bits
};

struct GemmArgs {
  const float* x;  // [m, k] row-major, row stride lda
  long lda;
  const PackedLinear* w;
  float* y;        // [m, n] row-major, row stride ldy
  long ldy;
  int m;
  int act;
};

struct LayerNormArgs {
  const float* x;
  const float* residual;  // may be null
  const float* gamma;
  const float* beta;
  float* y;
  int cols;
  float eps;
};

struct AttentionArgs {
  const float* qkv;   // [rows, 3 * hidden]
  float* context;     // [rows, hidden]
  int hidden;
  int num_heads;
  int head_dim;
  float scale;
  // Optional score bias by key-query distance (MPNet): [num_heads][2 * bias_max_distance + 1],
  // score(i, j) += bias[head][(j - i) + bias_max_distance]. Null for no bias.
  const float* bias;
  int bias_max_distance;
};

// A relative-position attention bias (MPNet): score[h][i][j] += table[bucket_of_distance[(j - i) +
// max_distance] * heads + h]; table [num_buckets, heads].
struct PositionBiasArgs {
  const float* table;
  const int32_t* bucket_of_distance;  // [2 * max_distance + 1]
  int max_distance;
};

// Per-ISA kernels. The driver (gemm.cc, ops.cc) splits work and hands each call its own scratch.
struct IsaKernels {
  const char* name;
  int mr;  // micro-tile rows
  int nr;  // micro-tile columns (panel width of PackedLinear)
  int kc;  // K-block (does not affect results: partial sums round-trip exactly through y)
  int mc;  // rows of x packed at once (multiple of mr)
  // Computes rows [m0, m1) x panels [p0, p1). scratch: gemm_scratch_floats(K) floats, 64-byte aligned.
  void (*gemm_block)(const GemmArgs& a, int m0, int m1, int p0, int p1, float* scratch);
  size_t (*gemm_scratch_floats)(int k);
  // Rows [r0, r1) of y = LayerNorm(x + residual).
  void (*layernorm_rows)(const LayerNormArgs& a, int r0, int r1);
  // Heads [h0, h1) of one sequence, rows [start, start + len): the context of query rows [q0, q1)
  // (relative to start). probs: null, or the sequence's [heads][len][len] (rows q0..q1-1 of heads
  // h0..h1-1 written). scratch: at least attention_scratch_floats(len, head_dim, h1 - h0) floats,
  // 64-byte aligned.
  void (*attention_heads)(const AttentionArgs& a, int start, int len, int h0, int h1, int q0, int q1, float* probs,
                          float* scratch);
  size_t (*attention_scratch_floats)(int len, int head_dim, int heads);
  // One (sequence, head): out[len] = softmax over keys of the first query row (a.context unused).
  // bias may be null.
  void (*first_row_attention_head)(const AttentionArgs& a, const PositionBiasArgs* bias, int start, int len, int head,
                                   float* out);
  // Element-wise activation in place (used by tests and by the naive path).
  void (*activate)(float* y, size_t n, int act);
};

// Low-precision GEMM over rows already converted (see ops.cc): u8 with a zero point per row (int8)
// or bf16 bits (bf16), [m, kp] row-major. Integer accumulation is exact, so the int8 result does not
// depend on any order at all; bf16 accumulates in float32 in k order, like the float32 GEMM.
struct LowpArgs {
  const PackedLinear* w;
  void* xq;               // uint8_t (int8) or uint16_t (bf16) [m, kp]
  float* xscale;          // int8: per row, x ~ (q - zp) * xscale
  int32_t* xzp;           // int8: per row
  // Non-null: x [m, k] itself, and each block converts its own rows into xq just before it uses
  // them (the caller gives every task all panels of its rows, so no row is converted twice and the
  // rows are still in cache). Null: xq already holds every row.
  const float* x;
  float* y;               // [m, n], row stride ldy
  long ldy;
  int act;
  void (*activate)(float* y, size_t n, int act);  // the float kernel set's, for the epilogue
};

struct LowpKernels {
  const char* name;
  int mr, nr;
  // Rows [r0, r1) of x [m, k] converted for the GEMM: to u8 with a zero point and scale per row
  // (int8), or to bf16 bits (bf16; xscale, xzp unused); xq is [m, kp].
  void (*convert_rows)(const float* x, int k, int kp, int dtype, int r0, int r1, void* xq, float* xscale, int32_t* xzp);
  // Rows [m0, m1) x panels [p0, p1). tile: mr * nr scratch values, 64-byte aligned.
  void (*int8_block)(const LowpArgs& a, int m0, int m1, int p0, int p1, int32_t* tile);
  void (*bf16_block)(const LowpArgs& a, int m0, int m1, int p0, int p1, float* tile);
  // Peak probes: run `iters` iterations of a register-only loop of independent FMAs (float32), of
  // VPDPBUSD (int8) or of VDPBF16PS (bf16) and return the arithmetic operations done (a multiply-add
  // counts 2). 0 when this set has no such instruction.
  double (*fma_probe)(long iters);
  double (*int8_probe)(long iters);
  double (*bf16_probe)(long iters);
};

const LowpKernels* lowp_generic();
#if defined(BT_HAVE_X86_ISAS)
const LowpKernels* lowp_avx2();
const LowpKernels* lowp_avx512();  // AVX-512 F/BW/VL + VNNI + BF16
#endif

const IsaKernels* kernels_generic();
#if defined(BT_HAVE_X86_ISAS)
const IsaKernels* kernels_avx2();
const IsaKernels* kernels_avx512();
#endif

}  // namespace bt

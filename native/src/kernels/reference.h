// Naive, obviously-correct kernels kept beside the tuned ones: the tests hold the tuned kernels
// against these (and against the TypeScript reference backend). Double accumulation, scalar libm.
#pragma once
#include <stdint.h>

namespace bt {
namespace ref {

// y[m, n] = act(x[m, k] . w[n, k]^T + bias[n]); bias may be null.
void linear(const float* x, const float* w, const float* bias, int m, int n, int k, int act, float* y);
// The same in low precision, spelled out: dtype bf16 rounds x and w to bf16 (nearest even) and sums
// in double; dtype int8 quantises w per output channel (symmetric, [-127, 127]) and each x row to u8
// with a zero point over [min(x, 0), max(x, 0)], sums the integers exactly, then scales.
void linear_lowp(const float* x, const float* w, const float* bias, int m, int n, int k, int act, int dtype, float* y);
void add_layernorm(const float* x, const float* residual, int rows, int cols, const float* gamma, const float* beta,
                   float eps, float* y);
// bias: null or [heads][2 * bias_max_distance + 1], added to the scaled scores by distance j - i.
void attention(const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
               float* context, float* probs, const float* bias, int bias_max_distance);
// out: per sequence s, [heads, len_s] at heads * seq_starts[s]: softmax of the first query row.
// Bias arrays may be null (no position bias).
void first_row_attention(const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
                         const float* bias_table, const int32_t* bucket_of_distance, int max_distance, float* out);
// Scalar activation in double (erf and tanh from libm).
double activation(double x, int act);

}  // namespace ref
}  // namespace bt

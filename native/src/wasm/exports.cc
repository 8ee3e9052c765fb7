// The WebAssembly module's exports: the operations of ops.h over pointers into linear memory, as
// plain C functions (src/backend/wasm.ts calls them). No emscripten JS glue is used: the module is
// built STANDALONE_WASM and instantiated by our own loader.
#include <stdlib.h>

#include "../kernels/ops.h"
#include "../kernels/thread_pool.h"

#define BT_EXPORT(name) extern "C" __attribute__((used, export_name(#name)))

using namespace bt;

// 64-byte aligned blocks for the JS side (inputs, outputs, scratch); 0 when out of memory.
BT_EXPORT(bt_alloc) void* bt_alloc(size_t bytes) {
  return aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes == 0 ? 64 : 0));
}
BT_EXPORT(bt_free) void bt_free(void* p) { free(p); }

// format: 0 float32, 1 f16 bits, 2 bf16 bits. Returns 0 when out of memory.
BT_EXPORT(bt_pack_linear) PackedLinear* bt_pack_linear(const void* weight, int format, const float* bias, int n, int k) {
  return pack_linear(kIsaGeneric, weight, format, bias, n, k);
}
BT_EXPORT(bt_free_linear) void bt_free_linear(PackedLinear* w) { free_linear(w); }

BT_EXPORT(bt_linear) void bt_linear(const PackedLinear* w, const float* x, int m, float* y, int act) {
  linear(*w, x, m, y, act);
}

BT_EXPORT(bt_add_layernorm)
void bt_add_layernorm(const float* x, const float* residual, int rows, int cols, const float* gamma, const float* beta,
                      float eps, float* y) {
  add_layernorm(kIsaGeneric, x, residual, rows, cols, gamma, beta, eps, y);
}

BT_EXPORT(bt_attention)
void bt_attention(const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
                  float* context, float* probs, const float* bias, int bias_max_distance) {
  attention(kIsaGeneric, qkv, seq_starts, nseq, heads, head_dim, scale, context, probs, bias, bias_max_distance);
}

// table/bucket_of_distance null for no position bias.
BT_EXPORT(bt_first_row_attention)
void bt_first_row_attention(const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
                            const float* table, const int32_t* bucket_of_distance, int max_distance, float* out) {
  PositionBiasArgs bias{table, bucket_of_distance, max_distance};
  first_row_attention(kIsaGeneric, qkv, seq_starts, nseq, heads, head_dim, scale, table ? &bias : nullptr, out);
}

BT_EXPORT(bt_activate) void bt_activate(float* y, size_t n, int act) { kernels_for(kIsaGeneric)->activate(y, n, act); }

// Tile sizes, for the benchmark's report: mr, nr, kc, mc.
BT_EXPORT(bt_tile) int bt_tile(int which) {
  const IsaKernels* k = kernels_for(kIsaGeneric);
  switch (which) {
    case 0: return k->mr;
    case 1: return k->nr;
    case 2: return k->kc;
    default: return k->mc;
  }
}

// Threads the parallel loops use, caller included (helpers not yet started are not counted).
BT_EXPORT(bt_threads) int bt_threads() { return pool_threads(); }
// Threads wanted, caller included; 1 in the single-threaded build whatever is asked.
BT_EXPORT(bt_set_threads) void bt_set_threads(int n) { pool_set_threads(n); }

// The SIMD128 multiply + add peak, for the benchmark's peak fraction: `iters` rounds of 12
// independent chains acc = acc * m + a (4 lanes, 2 flops each: 96 flops a round), no memory
// traffic. 12 chains cover the 2 multiply and 2 add pipes' latency. Returns a sum so that nothing is
// optimised away; m and a come from memory for the same reason.
#include <wasm_simd128.h>
BT_EXPORT(bt_peak_probe) float bt_peak_probe(const float* ma, int iters) {
  const v128_t m = wasm_f32x4_splat(ma[0]), a = wasm_f32x4_splat(ma[1]);
  v128_t acc[12];
  for (int i = 0; i < 12; i++) acc[i] = wasm_f32x4_splat((float)i);
  for (int it = 0; it < iters; it++) {
#pragma clang loop unroll(full)
    for (int i = 0; i < 12; i++) acc[i] = wasm_f32x4_add(wasm_f32x4_mul(acc[i], m), a);
  }
  v128_t s = acc[0];
  for (int i = 1; i < 12; i++) s = wasm_f32x4_add(s, acc[i]);
  return wasm_f32x4_extract_lane(s, 0);
}

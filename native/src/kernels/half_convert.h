// Half-precision (f16, bf16) to float32: for weights a model keeps in float32 (LayerNorms, biases,
// position embeddings) that half-precision checkpoints store in 16 bits, and for the word rows the
// embedding gather reads from a mapped f16 checkpoint (ops.cc). Exact: every half value is a float32
// value. Plain C++, no N-API types; x86-64 uses F16C's vcvtph2ps when the CPU has it.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace bt {

// dst[i] = the float32 of the f16 bits src[i], for i < n. NaNs keep their payload (bits shifted up,
// as src/io/dtype.ts does), so the result is bit-identical to the TypeScript conversion.
void f16_to_f32(const uint16_t* src, float* dst, size_t n);
// dst[i] = the float32 of the bf16 bits src[i] (the top half of a float32).
void bf16_to_f32(const uint16_t* src, float* dst, size_t n);
// Whether f16_to_f32 runs on the CPU's conversion instruction (F16C); false off x86-64 (wasm).
bool f16c_available();

}  // namespace bt

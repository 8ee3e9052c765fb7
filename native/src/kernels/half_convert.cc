#include "half_convert.h"

#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define BT_HALF_X86 1
#else
#define BT_HALF_X86 0
#endif

namespace bt {

namespace {
inline uint32_t f16_bits_to_f32_bits(uint32_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) return sign | 0x7f800000u | (mant << 13);  // inf / NaN, payload kept
  if (exp != 0) return sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 -> 127
  if (mant == 0) return sign;
  // Subnormal: normalise the mantissa.
  uint32_t e = 113, m = mant;
  while ((m & 0x400) == 0) {
    m <<= 1;
    e--;
  }
  return sign | (e << 23) | ((m & 0x3ff) << 13);
}

void f16_to_f32_scalar(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const uint32_t bits = f16_bits_to_f32_bits(src[i]);
    memcpy(&dst[i], &bits, 4);
  }
}

#if BT_HALF_X86
// vcvtph2ps, 8 at a time. It quiets signalling NaNs, so blocks holding any inf/NaN go the scalar
// way (keeps the bits identical to the TypeScript conversion; weights have none in practice).
__attribute__((target("avx,f16c"))) void f16_to_f32_f16c(const uint16_t* src, float* dst, size_t n) {
  const __m128i exp_mask = _mm_set1_epi16(0x7c00);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    if (_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(h, exp_mask), exp_mask)) != 0) {
      f16_to_f32_scalar(src + i, dst + i, 8);
      continue;
    }
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  f16_to_f32_scalar(src + i, dst + i, n - i);
}
#endif
}  // namespace

bool f16c_available() {
#if BT_HALF_X86
  static const bool f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return f16c;
#else
  return false;
#endif
}

void f16_to_f32(const uint16_t* src, float* dst, size_t n) {
#if BT_HALF_X86
  if (f16c_available()) return f16_to_f32_f16c(src, dst, n);
#endif
  f16_to_f32_scalar(src, dst, n);
}

void bf16_to_f32(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const uint32_t bits = (uint32_t)src[i] << 16;
    memcpy(&dst[i], &bits, 4);
  }
}

}  // namespace bt

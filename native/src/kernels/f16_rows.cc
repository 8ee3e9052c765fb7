#include "f16_rows.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define BT_F16C_ROWS 1
#else
#define BT_F16C_ROWS 0
#endif

namespace bt {

#if BT_F16C_ROWS
bool f16c_rows_available() {
  static const bool ok = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  return ok;
}

__attribute__((target("avx,f16c"))) void f16c_row_to_f32(const uint16_t* h, uint32_t* out, int n) {
  int c = 0;
  for (; c + 8 <= n; c += 8) {
    const __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + c)));
    _mm256_storeu_ps(reinterpret_cast<float*>(out + c), v);
  }
  if (c < n) {
    uint16_t tail_in[8] = {0};
    float tail_out[8];
    memcpy(tail_in, h + c, sizeof(uint16_t) * (n - c));
    _mm256_storeu_ps(tail_out, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tail_in))));
    memcpy(out + c, tail_out, sizeof(float) * (n - c));
  }
}
#else
bool f16c_rows_available() { return false; }
void f16c_row_to_f32(const uint16_t*, uint32_t*, int) {}
#endif

}  // namespace bt

#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "thread_pool.h"

namespace bt {

// ------------------------------------------------------------------------------------------------
// ISA selection
// ------------------------------------------------------------------------------------------------

static bool detect(int isa) {
  if (isa == kIsaGeneric) return true;
#if defined(BT_HAVE_X86_ISAS)
  __builtin_cpu_init();
  // libgcc also checks XCR0, i.e. that the OS saves the wide registers.
  if (isa == kIsaAvx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == kIsaAvx512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#endif
  return false;
}

namespace {
struct CpuSupport {
  bool isa[kIsaCount];
  CpuSupport() {
    for (int i = 0; i < kIsaCount; i++) isa[i] = detect(i);
  }
};
}  // namespace

static bool cpu_supports(int isa) {
  static const CpuSupport support;  // detected once, thread-safe
  return isa >= 0 && isa < kIsaCount && support.isa[isa];
}

const IsaKernels* kernels_for(int isa) {
  if (!cpu_supports(isa)) return nullptr;
  switch (isa) {
    case kIsaGeneric: return kernels_generic();
#if defined(BT_HAVE_X86_ISAS)
    case kIsaAvx2: return kernels_avx2();
    case kIsaAvx512: return kernels_avx512();
#endif
    default: return nullptr;
  }
}

int best_isa() {
  for (int isa = kIsaCount - 1; isa > 0; isa--)
    if (cpu_supports(isa)) return isa;
  return kIsaGeneric;
}

const char* isa_name(int isa) {
  switch (isa) {
    case kIsaGeneric: return "generic";
    case kIsaAvx2: return "avx2";
    case kIsaAvx512: return "avx512";
    default: return "unknown";
  }
}

// ------------------------------------------------------------------------------------------------
// Memory
// ------------------------------------------------------------------------------------------------

static float* alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  return static_cast<float*>(aligned_alloc(64, bytes));
}

// Per-thread scratch (packed x rows, attention tiles), grown on demand and freed at thread exit.
namespace {
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  ~Scratch() { free(p); }
  float* get(size_t want) {
    if (want > n) {
      free(p);
      p = alloc_floats(want);
      n = p ? want : 0;
    }
    return p;
  }
};
#if !defined(BT_POOL_SCRATCH)
thread_local Scratch tls_scratch;
float* thread_scratch(size_t floats) { return tls_scratch.get(floats); }
#endif
}  // namespace

// Stored element -> float32, exactly (what torch's .float() gives). f16 by hand rather than F16C so
// the portable build converts the same way; subnormals are scaled exactly by a power of two.
static inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    const float v = (float)mant * 5.9604644775390625e-8f;  // mant * 2^-24, exact
    memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / NaN (payload kept)
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static inline float bf16_to_f32(uint16_t h) {
  const uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

namespace {
struct PackJob {
  const void* weight;
  int format;
  PackedLinear* w;
};

template <typename T, float (*Convert)(T)>
void pack_panel(const T* weight, PackedLinear* w, int p) {
  const int k = w->k, nr = w->nr, n = w->n;
  float* dst = w->b + (size_t)p * k * nr;
  const int cols = n - p * nr < nr ? n - p * nr : nr;
  const T* src = weight + (size_t)p * nr * k;
  // Writes in order (k outer, the panel's columns inner): nr read streams, one write stream.
  for (int kk = 0; kk < k; kk++) {
    float* d = dst + (size_t)kk * nr;
    int c = 0;
    for (; c < cols; c++) d[c] = Convert(src[(size_t)c * k + kk]);
    for (; c < nr; c++) d[c] = 0.0f;
  }
}

inline float same(float v) { return v; }

void pack_task(void* ctx, int p) {
  const PackJob& j = *static_cast<const PackJob*>(ctx);
  switch (j.format) {
    case kWeightF16: pack_panel<uint16_t, f16_to_f32>(static_cast<const uint16_t*>(j.weight), j.w, p); break;
    case kWeightBF16: pack_panel<uint16_t, bf16_to_f32>(static_cast<const uint16_t*>(j.weight), j.w, p); break;
    default: pack_panel<float, same>(static_cast<const float*>(j.weight), j.w, p); break;
  }
}
}  // namespace

PackedLinear* pack_linear(int isa, const void* weight, int format, const float* bias, int n, int k) {
  const IsaKernels* kn = kernels_for(isa);
  if (!kn) return nullptr;
  PackedLinear* w = static_cast<PackedLinear*>(calloc(1, sizeof(PackedLinear)));
  if (!w) return nullptr;
  w->isa = isa;
  w->n = n;
  w->k = k;
  w->nr = kn->nr;
  w->panels = (n + kn->nr - 1) / kn->nr;
  const size_t nb = (size_t)w->panels * (size_t)k * (size_t)w->nr;
  w->b = alloc_floats(nb);
  w->bias = bias ? alloc_floats((size_t)w->panels * w->nr) : nullptr;
  if (!w->b || (bias && !w->bias)) {
    free_linear(w);
    return nullptr;
  }
  w->bytes = nb * sizeof(float) + (bias ? (size_t)w->panels * w->nr * sizeof(float) : 0);
  // Panels are independent: both cores pack (and fault in) the weights of a large layer.
  PackJob job{weight, format, w};
  if (pool_threads() > 1 && (size_t)n * k >= 65536) {
    parallel_for(w->panels, pack_task, &job);
  } else {
    for (int p = 0; p < w->panels; p++) pack_task(&job, p);
  }
  if (bias) {
    const int nr = w->nr;
    for (int c = 0; c < w->panels * nr; c++) w->bias[c] = c < n ? bias[c] : 0.0f;
  }
  return w;
}

void free_linear(PackedLinear* w) {
  if (!w) return;
  free(w->b);
  free(w->bias);
  free(w);
}

// ------------------------------------------------------------------------------------------------
// Linear
// ------------------------------------------------------------------------------------------------

namespace {
struct GemmJob {
  const IsaKernels* kn;
  GemmArgs args;
  int rows_per_task;    // tasks over rows ...
  int panels_per_task;  // ... times tasks over panels
  int ptasks;
};

void gemm_task(void* ctx, int t) {
  const GemmJob& j = *static_cast<const GemmJob*>(ctx);
  const int mt = t / j.ptasks, pt = t % j.ptasks;
  const int m0 = mt * j.rows_per_task;
  const int m1 = m0 + j.rows_per_task < j.args.m ? m0 + j.rows_per_task : j.args.m;
  const int p0 = pt * j.panels_per_task;
  const int p1 = p0 + j.panels_per_task < j.args.w->panels ? p0 + j.panels_per_task : j.args.w->panels;
  if (m0 >= m1 || p0 >= p1) return;
  const size_t need = j.kn->gemm_scratch_floats(j.args.w->k);
  float* scratch = need ? thread_scratch(need) : nullptr;
  if (need && !scratch) abort();
  j.kn->gemm_block(j.args, m0, m1, p0, p1, scratch);
}
}  // namespace

void linear(const PackedLinear& w, const float* x, int m, float* y, int act) {
  const IsaKernels* kn = kernels_for(w.isa);
  if (m <= 0 || w.n <= 0) return;
  if (w.k == 0) {  // no inputs: y = act(b)
    for (int r = 0; r < m; r++)
      for (int c = 0; c < w.n; c++) y[(size_t)r * w.n + c] = w.bias ? w.bias[c] : 0.0f;
    kn->activate(y, (size_t)m * w.n, act);
    return;
  }
  GemmJob j;
  j.kn = kn;
  j.args.x = x;
  j.args.lda = w.k;
  j.args.w = &w;
  j.args.y = y;
  j.args.ldy = w.n;
  j.args.m = m;
  j.args.act = act;
  const int threads = pool_threads();
  const double flops = 2.0 * m * w.n * w.k;
  const int mr = kn->mr;
  if (threads <= 1 || flops < 4e5) {
    j.rows_per_task = m;
    j.panels_per_task = w.panels;
    j.ptasks = 1;
    gemm_task(&j, 0);
    return;
  }
  // Work split, never over K (so a row's arithmetic is the same whatever the split): about four
  // tasks per thread, handed out dynamically, so that a thread the OS delays (busy machine) holds
  // back little. Rows first, at least 32 per task (each task streams all of its panels of W), then
  // panels.
  const int want = 4 * threads;
  int mt = (m + 31) / 32;
  if (mt > want) mt = want;
  if (mt < 1) mt = 1;
  j.rows_per_task = ((m + mt - 1) / mt + mr - 1) / mr * mr;
  mt = (m + j.rows_per_task - 1) / j.rows_per_task;
  int pt = (want + mt - 1) / mt;
  if (pt > w.panels) pt = w.panels;
  j.panels_per_task = (w.panels + pt - 1) / pt;
  j.ptasks = (w.panels + j.panels_per_task - 1) / j.panels_per_task;
  const int mtasks = (m + j.rows_per_task - 1) / j.rows_per_task;
  parallel_for(mtasks * j.ptasks, gemm_task, &j);
}

// ------------------------------------------------------------------------------------------------
// Residual + LayerNorm
// ------------------------------------------------------------------------------------------------

namespace {
struct LayerNormJob {
  const IsaKernels* kn;
  LayerNormArgs args;
  int rows, per;
};
void layernorm_task(void* ctx, int t) {
  const LayerNormJob& j = *static_cast<const LayerNormJob*>(ctx);
  const int r0 = t * j.per, r1 = r0 + j.per < j.rows ? r0 + j.per : j.rows;
  if (r0 < r1) j.kn->layernorm_rows(j.args, r0, r1);
}
}  // namespace

void add_layernorm(int isa, const float* x, const float* residual, int rows, int cols, const float* gamma,
                   const float* beta, float eps, float* y) {
  if (rows <= 0 || cols <= 0) return;
  LayerNormJob j;
  j.kn = kernels_for(isa);
  j.args = LayerNormArgs{x, residual, gamma, beta, y, cols, eps};
  j.rows = rows;
  const long total = (long)rows * cols;
  if (pool_threads() <= 1 || total < 32768) {
    j.kn->layernorm_rows(j.args, 0, rows);
    return;
  }
  j.per = (int)(16384 / cols) > 1 ? (int)(16384 / cols) : 1;
  parallel_for((rows + j.per - 1) / j.per, layernorm_task, &j);
}

// ------------------------------------------------------------------------------------------------
// Attention
// ------------------------------------------------------------------------------------------------

namespace {
struct AttentionJob {
  const IsaKernels* kn;
  AttentionArgs args;
  const int32_t* starts;
  const size_t* probs_offset;  // per sequence, or null
  float* probs;
  int heads;
};
void attention_task(void* ctx, int t) {
  const AttentionJob& j = *static_cast<const AttentionJob*>(ctx);
  const int s = t / j.heads, h = t % j.heads;
  const int start = j.starts[s], len = j.starts[s + 1] - start;
  if (len <= 0) return;
  float* scratch = thread_scratch(j.kn->attention_scratch_floats(len, j.args.head_dim));
  if (!scratch) abort();
  float* probs = j.probs ? j.probs + j.probs_offset[s] + (size_t)h * len * len : nullptr;
  j.kn->attention_head(j.args, start, len, h, probs, scratch);
}
}  // namespace

void attention(int isa, const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim, float scale,
               float* context, float* probs, const float* bias, int bias_max_distance) {
  if (nseq <= 0 || heads <= 0) return;
  AttentionJob j;
  j.kn = kernels_for(isa);
  j.args = AttentionArgs{qkv, context, heads * head_dim, heads, head_dim, scale, bias, bias_max_distance};
  j.starts = seq_starts;
  j.heads = heads;
  j.probs = probs;
  size_t* offsets = nullptr;
  double work = 0;
  if (probs) offsets = static_cast<size_t*>(malloc(sizeof(size_t) * (size_t)nseq));
  size_t off = 0;
  for (int s = 0; s < nseq; s++) {
    const size_t len = (size_t)(seq_starts[s + 1] - seq_starts[s]);
    if (offsets) offsets[s] = off;
    off += (size_t)heads * len * len;
    work += (double)heads * len * len * head_dim;
  }
  if (probs && !offsets) abort();
  j.probs_offset = offsets;
  const int ntasks = nseq * heads;
  if (pool_threads() <= 1 || work < 1e5) {
    for (int t = 0; t < ntasks; t++) attention_task(&j, t);
  } else {
    parallel_for(ntasks, attention_task, &j);
  }
  free(offsets);
}

namespace {
struct FirstRowJob {
  const IsaKernels* kn;
  AttentionArgs args;
  const PositionBiasArgs* bias;
  const int32_t* starts;
  float* out;
};
void first_row_task(void* ctx, int t) {
  const FirstRowJob& j = *static_cast<const FirstRowJob*>(ctx);
  const int s = t / j.args.num_heads, h = t % j.args.num_heads;
  const int start = j.starts[s], len = j.starts[s + 1] - start;
  j.kn->first_row_attention_head(j.args, j.bias, start, len, h, j.out + (size_t)j.args.num_heads * start + (size_t)h * len);
}
}  // namespace

void first_row_attention(int isa, const float* qkv, const int32_t* seq_starts, int nseq, int heads, int head_dim,
                         float scale, const PositionBiasArgs* bias, float* out) {
  if (nseq <= 0 || heads <= 0) return;
  FirstRowJob j{kernels_for(isa), AttentionArgs{qkv, nullptr, heads * head_dim, heads, head_dim, scale}, bias, seq_starts, out};
  const double work = (double)heads * (seq_starts[nseq] - seq_starts[0]) * head_dim;
  const int ntasks = nseq * heads;
  if (pool_threads() <= 1 || work < 1e5) {
    for (int t = 0; t < ntasks; t++) first_row_task(&j, t);
  } else {
    parallel_for(ntasks, first_row_task, &j);
  }
}

}  // namespace bt

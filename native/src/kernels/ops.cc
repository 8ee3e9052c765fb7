#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define BT_HAVE_MMAP 1
#else
#define BT_HAVE_MMAP 0
#endif

#include "half_convert.h"
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

static bool cpu_has_vnni_bf16() {
#if defined(BT_HAVE_X86_ISAS)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

const LowpKernels* lowp_for(int isa) {
  if (!cpu_supports(isa)) return nullptr;
#if defined(BT_HAVE_X86_ISAS)
  static const bool vnni_bf16 = cpu_has_vnni_bf16();
  if (isa == kIsaAvx512 && vnni_bf16) return lowp_avx512();
  if (isa == kIsaAvx512 || isa == kIsaAvx2) return lowp_avx2();
#endif
  return lowp_generic();
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

// Buffers of at least this size get pages of their own (mmap), returned to the OS when freed.
// Through malloc they would not be: glibc raises its mmap threshold to the size of each mmapped
// block freed (up to 32 MiB), so once a worker thread that held a model exits, the next worker's
// packed weights come from malloc arenas, whose freed space fragments and stays resident. In the
// server soak that cost ~7 MiB of RSS per worker restart.
static constexpr size_t kOwnPagesBytes = 256 * 1024;

// Every block starts with a 64-byte header holding its total size, so free_floats needs no size
// (packed weights hold several buffers of different element types) and data stays 64-byte aligned.
static constexpr size_t kHeaderBytes = 64;

#if BT_HAVE_MMAP && defined(MAP_POPULATE)
static constexpr int kPopulate = MAP_POPULATE;
#elif BT_HAVE_MMAP
static constexpr int kPopulate = 0;
#endif

// 64-byte aligned floats (or any type, as n floats' worth of bytes); free with free_floats.
static float* alloc_floats(size_t n) {
  const size_t bytes = kHeaderBytes + (n * sizeof(float) + 63) / 64 * 64;
  void* block;
#if BT_HAVE_MMAP
  if (bytes >= kOwnPagesBytes) {
    // Every byte is written at once (packing, scratch): MAP_POPULATE makes the kernel fault all the
    // pages in one call instead of one trap per page, which halved packing time where faults are dear (VMs).
    block = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | kPopulate, -1, 0);
    if (block == MAP_FAILED) return nullptr;
  } else
#endif
  {
    block = aligned_alloc(64, bytes);
    if (!block) return nullptr;
  }
  *static_cast<size_t*>(block) = bytes;
  return reinterpret_cast<float*>(static_cast<char*>(block) + kHeaderBytes);
}

static void free_floats(const void* p) {
  if (!p) return;
  char* block = const_cast<char*>(static_cast<const char*>(p)) - kHeaderBytes;
#if BT_HAVE_MMAP
  const size_t bytes = *reinterpret_cast<size_t*>(block);
  if (bytes >= kOwnPagesBytes) {
    munmap(block, bytes);
    return;
  }
#endif
  free(block);
}

// Per-thread scratch (packed x rows, attention tiles), grown on demand and freed at thread exit.
namespace {
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  ~Scratch() { free_floats(p); }
  float* get(size_t want) {
    if (want > n) {
      free_floats(p);
      p = alloc_floats(want);
      n = p ? want : 0;
    }
    return p;
  }
};
#if defined(BT_POOL_SCRATCH)
// The pool's per-thread scratch (threaded WebAssembly build: wasm_pool.cc) behind the same interface.
struct PoolScratch {
  float* get(size_t want) { return thread_scratch(want); }
};
PoolScratch tls_scratch;
#else
thread_local Scratch tls_scratch;
float* thread_scratch(size_t floats) { return tls_scratch.get(floats); }
#endif
}  // namespace

// ------------------------------------------------------------------------------------------------
// Profile (BERT_TS_PROFILE)
// ------------------------------------------------------------------------------------------------

namespace {
constexpr int kMaxProfileEntries = 64;
struct Profile {
  std::mutex mu;
  ProfileEntry e[kMaxProfileEntries];
  int n = 0;
  const bool on;
  Profile() : on(getenv("BERT_TS_PROFILE") && *getenv("BERT_TS_PROFILE") && strcmp(getenv("BERT_TS_PROFILE"), "0") != 0) {}
};
Profile& profile() {
  static Profile p;
  return p;
}
bool profiling_on() { return profile().on; }
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
// CPU time pool helpers spent in the tasks of the op being timed (nanoseconds), and whether this
// thread is one that calls ops (a pool worker never is): with the calling thread's CPU time it shows
// how the op's work was shared (int8 tasks are few and long, so a helper that starts late leaves
// them to the caller). Several JS threads profiling at once would mix their helpers' time.
std::atomic<long long> g_helper_ns{0};
thread_local bool tls_op_caller = false;
// Wall clock and the calling thread's CPU time of one call.
struct Stopwatch {
  double wall = now_seconds(), cpu = thread_cpu_seconds();
  Stopwatch() {
    if (!profiling_on()) return;
    tls_op_caller = true;
    g_helper_ns.exchange(0);
  }
};
// Adds a pool helper's CPU time in one task to the op being timed (nothing unless profiling).
struct HelperCpu {
  const bool on = profiling_on() && !tls_op_caller;
  const double c0 = on ? thread_cpu_seconds() : 0;
  ~HelperCpu() {
    if (on) g_helper_ns.fetch_add((long long)((thread_cpu_seconds() - c0) * 1e9));
  }
};
void profile_add(const char* op, const Stopwatch& since, double flops) {
  const double seconds = now_seconds() - since.wall, cpu = thread_cpu_seconds() - since.cpu;
  const double helpers = 1e-9 * (double)g_helper_ns.exchange(0);
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  int i = 0;
  while (i < p.n && strcmp(p.e[i].op, op) != 0) i++;
  if (i == p.n) {
    if (p.n == kMaxProfileEntries) return;
    snprintf(p.e[i].op, sizeof p.e[i].op, "%s", op);
    p.e[i].calls = 0;
    p.e[i].seconds = p.e[i].cpu_seconds = p.e[i].helper_cpu_seconds = p.e[i].flops = 0;
    p.n++;
  }
  p.e[i].calls++;
  p.e[i].seconds += seconds;
  p.e[i].cpu_seconds += cpu;
  p.e[i].helper_cpu_seconds += helpers;
  p.e[i].flops += flops;
}
const char* dtype_name(int dtype) { return dtype == kDtypeInt8 ? "int8" : dtype == kDtypeBF16 ? "bf16" : "f32"; }
const char* act_name(int act) {
  switch (act) {
    case kActGelu: return "gelu";
    case kActGeluTanh: return "gelu_tanh";
    case kActRelu: return "relu";
    case kActTanh: return "tanh";
    default: return "none";
  }
}
}  // namespace

bool profiling() { return profile().on; }

namespace {
// Times the enclosing scope when profiling.
struct ProfileScope {
  const char* op;
  double flops;
  Stopwatch since;
  explicit ProfileScope(const char* o, double f = 0) : op(o), flops(f) {}
  ~ProfileScope() {
    if (profiling()) profile_add(op, since, flops);
  }
};
}  // namespace

int profile_entries(ProfileEntry* out, int max) {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  for (int i = 0; i < p.n && i < max; i++) out[i] = p.e[i];
  return p.n;
}

void profile_reset() {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  p.n = 0;
}

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

// float32 -> bf16 bits, round to nearest even (torch's .to(torch.bfloat16)); NaN stays a quiet NaN.
// (lowp_impl.inc has its own copy for the rows: no inline code is shared with the ISA files.)
static inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

template <typename T, float (*Convert)(T)>
void pack_lowp_panel(const T* weight, PackedLinear* w, int p, float* row) {
  const int k = w->k, kp = w->kp, nr = w->nr, n = w->n;
  for (int c = 0; c < nr; c++) {
    const int col = p * nr + c;
    const bool real = col < n;
    if (real)
      for (int kk = 0; kk < k; kk++) row[kk] = Convert(weight[(size_t)col * k + kk]);
    if (w->dtype == kDtypeInt8) {
      int8_t* dst = w->q + (size_t)p * kp * nr;
      float amax = 0.0f;
      for (int kk = 0; real && kk < k; kk++) amax = fabsf(row[kk]) > amax ? fabsf(row[kk]) : amax;
      const float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
      int32_t sum = 0;
      for (int kk = 0; kk < kp; kk++) {
        int q = 0;
        if (real && kk < k) {
          const float v = nearbyintf(row[kk] / scale);
          q = v > 127.0f ? 127 : v < -127.0f ? -127 : (int)v;
        }
        dst[(size_t)(kk / 4) * nr * 4 + c * 4 + kk % 4] = (int8_t)q;
        sum += q;
      }
      w->wscale[col] = real ? scale : 0.0f;
      w->colsum[col] = sum;
    } else {
      uint16_t* dst = w->h + (size_t)p * kp * nr;
      for (int kk = 0; kk < kp; kk++)
        dst[(size_t)(kk / 2) * nr * 2 + c * 2 + kk % 2] = real && kk < k ? f32_to_bf16(row[kk]) : 0;
    }
  }
}

void pack_task(void* ctx, int p) {
  const PackJob& j = *static_cast<const PackJob*>(ctx);
  if (j.w->dtype != kDtypeF32) {
    float* row = thread_scratch((size_t)j.w->k + 1);
    if (!row) abort();
    switch (j.format) {
      case kWeightF16: pack_lowp_panel<uint16_t, f16_to_f32>(static_cast<const uint16_t*>(j.weight), j.w, p, row); break;
      case kWeightBF16: pack_lowp_panel<uint16_t, bf16_to_f32>(static_cast<const uint16_t*>(j.weight), j.w, p, row); break;
      default: pack_lowp_panel<float, same>(static_cast<const float*>(j.weight), j.w, p, row); break;
    }
    return;
  }
  switch (j.format) {
    case kWeightF16: pack_panel<uint16_t, f16_to_f32>(static_cast<const uint16_t*>(j.weight), j.w, p); break;
    case kWeightBF16: pack_panel<uint16_t, bf16_to_f32>(static_cast<const uint16_t*>(j.weight), j.w, p); break;
    default: pack_panel<float, same>(static_cast<const float*>(j.weight), j.w, p); break;
  }
}
}  // namespace

PackedLinear* pack_linear(int isa, const void* weight, int format, const float* bias, int n, int k, int dtype) {
  const IsaKernels* kn = kernels_for(isa);
  if (!kn || dtype < kDtypeF32 || dtype > kDtypeInt8) return nullptr;
  PackedLinear* w = static_cast<PackedLinear*>(calloc(1, sizeof(PackedLinear)));
  if (!w) return nullptr;
  w->isa = isa;
  w->dtype = dtype;
  w->n = n;
  w->k = k;
  size_t bytes = 0;
  if (dtype == kDtypeF32) {
    w->nr = kn->nr;
    w->panels = (n + kn->nr - 1) / kn->nr;
    w->kp = k;
    const size_t nb = (size_t)w->panels * (size_t)k * (size_t)w->nr;
    w->b = alloc_floats(nb);
    if (!w->b) return free_linear(w), nullptr;
    bytes = nb * sizeof(float);
  } else {
    w->lowp = lowp_for(isa);
    w->nr = w->lowp->nr;
    w->panels = (n + w->nr - 1) / w->nr;
    const int kg = dtype == kDtypeInt8 ? 4 : 2;
    w->kp = (k + kg - 1) / kg * kg;
    const size_t cols = (size_t)w->panels * w->nr, nb = cols * (size_t)w->kp;
    if (dtype == kDtypeInt8) {
      w->q = static_cast<int8_t*>(static_cast<void*>(alloc_floats((nb + 3) / 4)));
      w->wscale = alloc_floats(cols);
      w->colsum = static_cast<int32_t*>(static_cast<void*>(alloc_floats(cols)));
      if (!w->q || !w->wscale || !w->colsum) return free_linear(w), nullptr;
      bytes = nb + cols * 8;
    } else {
      w->h = static_cast<uint16_t*>(static_cast<void*>(alloc_floats((nb + 1) / 2)));
      if (!w->h) return free_linear(w), nullptr;
      bytes = nb * 2;
    }
  }
  w->bias = bias ? alloc_floats((size_t)w->panels * w->nr) : nullptr;
  if (bias && !w->bias) return free_linear(w), nullptr;
  w->bytes = bytes + (bias ? (size_t)w->panels * w->nr * sizeof(float) : 0);
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
  free_floats(w->b);
  free_floats(w->bias);
  free_floats(w->q);
  free_floats(w->wscale);
  free_floats(w->colsum);
  free_floats(w->h);
  free(w);
}

// ------------------------------------------------------------------------------------------------
// Packed layers as bytes (the packed-weight cache): int8 / bf16 skip the quantisation on a second
// load, float32 the strided repacking (and the checkpoint's f16 -> f32 conversion).
// ------------------------------------------------------------------------------------------------

namespace {
constexpr int32_t kPackedMagic = 0x38515442;  // "BTQ8"
constexpr int32_t kPackedVersion = 1;
constexpr size_t kPackedHeader = 64;  // 16 int32: magic, version, isa, dtype, n, k, nr, panels, kp, has_bias, 0...

// Byte sizes of the arrays after the header, in order: b (float32), q or h, wscale, colsum (int8), bias.
struct PackedSizes {
  size_t w, wscale, colsum, bias;
};
PackedSizes packed_sizes(int dtype, int panels, int nr, int kp, bool bias) {
  const size_t cols = (size_t)panels * nr, nb = cols * (size_t)kp;
  PackedSizes z;
  z.w = dtype == kDtypeInt8 ? (nb + 3) / 4 * 4 : dtype == kDtypeBF16 ? nb * 2 : nb * 4;
  z.wscale = dtype == kDtypeInt8 ? cols * 4 : 0;
  z.colsum = dtype == kDtypeInt8 ? cols * 4 : 0;
  z.bias = bias ? cols * 4 : 0;
  return z;
}

const void* packed_weights(const PackedLinear& w) {
  if (w.dtype == kDtypeInt8) return w.q;
  if (w.dtype == kDtypeBF16) return w.h;
  return w.b;
}
}  // namespace

size_t packed_size(const PackedLinear& w) {
  const PackedSizes z = packed_sizes(w.dtype, w.panels, w.nr, w.kp, w.bias != nullptr);
  return kPackedHeader + z.w + z.wscale + z.colsum + z.bias;
}

void export_packed(const PackedLinear& w, uint8_t* out) {
  int32_t head[16] = {kPackedMagic, kPackedVersion, w.isa, w.dtype, w.n, w.k, w.nr, w.panels, w.kp, w.bias ? 1 : 0};
  memcpy(out, head, sizeof head);
  uint8_t* p = out + kPackedHeader;
  const PackedSizes z = packed_sizes(w.dtype, w.panels, w.nr, w.kp, w.bias != nullptr);
  memcpy(p, packed_weights(w), z.w);
  p += z.w;
  if (z.wscale) memcpy(p, w.wscale, z.wscale), p += z.wscale;
  if (z.colsum) memcpy(p, w.colsum, z.colsum), p += z.colsum;
  if (z.bias) memcpy(p, w.bias, z.bias);
}

namespace {
// Checks a packed layer's header against this build and CPU and fills w's shape fields (no arrays).
bool read_packed_header(int isa, const uint8_t* in, size_t len, PackedLinear* w, PackedSizes* z) {
  const IsaKernels* kn = kernels_for(isa);
  if (!kn || len < kPackedHeader) return false;
  int32_t head[16];
  memcpy(head, in, sizeof head);
  const int dtype = head[3], n = head[4], k = head[5], nr = head[6], panels = head[7], kp = head[8];
  if (head[0] != kPackedMagic || head[1] != kPackedVersion || head[2] != isa || n < 1 || k < 1) return false;
  const LowpKernels* lk = dtype == kDtypeF32 ? nullptr : lowp_for(isa);
  if (dtype == kDtypeF32) {
    if (nr != kn->nr || kp != k) return false;
  } else if (dtype == kDtypeInt8 || dtype == kDtypeBF16) {
    const int kg = dtype == kDtypeInt8 ? 4 : 2;
    if (nr != lk->nr || kp != (k + kg - 1) / kg * kg) return false;
  } else {
    return false;
  }
  if (panels != (n + nr - 1) / nr || (head[9] != 0 && head[9] != 1)) return false;
  *z = packed_sizes(dtype, panels, nr, kp, head[9] == 1);
  if (len != kPackedHeader + z->w + z->wscale + z->colsum + z->bias) return false;
  w->isa = isa;
  w->dtype = dtype;
  w->n = n;
  w->k = k;
  w->nr = nr;
  w->panels = panels;
  w->kp = kp;
  w->lowp = lk;
  // As pack_linear counts them.
  w->bytes = z->w + z->wscale + z->colsum + z->bias;
  return true;
}
}  // namespace

PackedLinear* import_packed(int isa, const uint8_t* in, size_t len) {
  PackedLinear* w = static_cast<PackedLinear*>(calloc(1, sizeof(PackedLinear)));
  if (!w) return nullptr;
  PackedSizes z;
  if (!read_packed_header(isa, in, len, w, &z)) return free(w), nullptr;
  const uint8_t* p = in + kPackedHeader;
  void* arr = alloc_floats(z.w / 4 + 1);
  if (!arr) return free_linear(w), nullptr;
  memcpy(arr, p, z.w);
  p += z.w;
  if (w->dtype == kDtypeInt8) {
    w->q = static_cast<int8_t*>(arr);
    w->wscale = alloc_floats(z.wscale / 4);
    w->colsum = static_cast<int32_t*>(static_cast<void*>(alloc_floats(z.colsum / 4)));
    if (!w->wscale || !w->colsum) return free_linear(w), nullptr;
    memcpy(w->wscale, p, z.wscale);
    p += z.wscale;
    memcpy(w->colsum, p, z.colsum);
    p += z.colsum;
  } else if (w->dtype == kDtypeBF16) {
    w->h = static_cast<uint16_t*>(arr);
  } else {
    w->b = static_cast<float*>(arr);
  }
  if (z.bias) {
    w->bias = alloc_floats(z.bias / 4);
    if (!w->bias) return free_linear(w), nullptr;
    memcpy(w->bias, p, z.bias);
  }
  return w;
}

PackedLinear* view_packed(int isa, const uint8_t* in, size_t len) {
  PackedLinear* w = static_cast<PackedLinear*>(calloc(1, sizeof(PackedLinear)));
  if (!w) return nullptr;
  PackedSizes z;
  // Every array must start 64-byte aligned, as alloc_floats gives them.
  if (!read_packed_header(isa, in, len, w, &z) || ((uintptr_t)in % 64) != 0 || z.w % 64 != 0 || z.wscale % 64 != 0 ||
      z.colsum % 64 != 0)
    return free(w), nullptr;
  uint8_t* p = const_cast<uint8_t*>(in) + kPackedHeader;
  if (w->dtype == kDtypeInt8) w->q = reinterpret_cast<int8_t*>(p);
  else if (w->dtype == kDtypeBF16) w->h = reinterpret_cast<uint16_t*>(p);
  else w->b = reinterpret_cast<float*>(p);
  p += z.w;
  if (z.wscale) w->wscale = reinterpret_cast<float*>(p), p += z.wscale;
  if (z.colsum) w->colsum = reinterpret_cast<int32_t*>(p), p += z.colsum;
  if (z.bias) w->bias = reinterpret_cast<float*>(p);
  return w;
}

void free_linear_view(PackedLinear* w) { free(w); }

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
  int mtasks = 0;  // > 0: rows cut evenly into this many tasks (rows_per_task unused)
  const LayerNormArgs* ln = nullptr;  // set only when every task has all panels of its rows
};

void gemm_task(void* ctx, int t) {
  const HelperCpu timed;
  const GemmJob& j = *static_cast<const GemmJob*>(ctx);
  const int mt = t / j.ptasks, pt = t % j.ptasks;
  int m0, m1;
  if (j.mtasks > 0) {  // rows cut evenly
    m0 = (int)((long)mt * j.args.m / j.mtasks);
    m1 = (int)((long)(mt + 1) * j.args.m / j.mtasks);
  } else {
    m0 = mt * j.rows_per_task;
    m1 = m0 + j.rows_per_task < j.args.m ? m0 + j.rows_per_task : j.args.m;
  }
  const int p0 = pt * j.panels_per_task;
  const int p1 = p0 + j.panels_per_task < j.args.w->panels ? p0 + j.panels_per_task : j.args.w->panels;
  if (m0 >= m1 || p0 >= p1) return;
  const size_t need = j.kn->gemm_scratch_floats(j.args.w->k);
  float* scratch = need ? thread_scratch(need) : nullptr;
  if (need && !scratch) abort();
  j.kn->gemm_block(j.args, m0, m1, p0, p1, scratch);
  if (j.ln) j.kn->layernorm_rows(*j.ln, m0, m1);  // the task's rows are complete and still in cache
}
}  // namespace

// Work split of a GEMM, never over K (so a row's arithmetic is the same whatever the split): about
// four tasks per thread, handed out dynamically, so that a thread the OS delays (busy machine) holds
// back little. A task streams its panels of W once per BT_MC rows of its own, so rows are cut only
// into blocks of at least kSplitRows (= the kernels' MC): more tasks come from cutting the panels.
// Inside a model every layer's W comes from memory, not cache; the former 32-row tasks streamed it
// 8 times per 256-row block and cost ~6-15% of the GEMM time at bert-base shapes on 2 threads.
// One task when single-threaded or small. Returns the number of tasks.
static constexpr int kSplitRows = 128;
static int split_gemm(int m, const PackedLinear& w, int mr, int* rows_per_task, int* panels_per_task, int* ptasks) {
  const int threads = pool_threads();
  if (threads <= 1 || 2.0 * m * w.n * w.k < 4e5) {
    *rows_per_task = m;
    *panels_per_task = w.panels;
    *ptasks = 1;
    return 1;
  }
  const int want = 4 * threads;
  int mt = m / kSplitRows;
  mt = mt > want ? want : mt < 1 ? 1 : mt;
  *rows_per_task = ((m + mt - 1) / mt + mr - 1) / mr * mr;
  mt = (m + *rows_per_task - 1) / *rows_per_task;
  int pt = (want + mt - 1) / mt;
  if (pt > w.panels) pt = w.panels;
  *panels_per_task = (w.panels + pt - 1) / pt;
  *ptasks = (w.panels + *panels_per_task - 1) / *panels_per_task;
  return mt * *ptasks;
}

// Work split of a float32 GEMM on several threads: over rows only whenever every thread gets at
// least 32 rows (a task then has all panels: it reads only its own x rows, each row's LayerNorm can
// follow in the same task, and the rows stay in the L2 of the core that made them for the next
// layer), one task per thread per kSplitRows rows up to four each; rows cut evenly (a tile of fewer
// rows gives each row the same chain, so no bit changes). The model runs layers over blocks of
// <= 256 rows, where split_gemm cut the panels into 8 tasks that each read all of x; rows only
// streams each thread's W once, which the panel prefetch in gemm_block now hides. Returns 0 when
// the rows are too few (split_gemm then).
static int split_f32_rows(int m, const PackedLinear& w, int* mtasks) {
  const int threads = pool_threads();
  if (threads <= 1 || 2.0 * m * w.n * w.k < 4e5 || m < 32 * threads) return 0;
  int mt = m / kSplitRows;
  mt = mt > 4 * threads ? 4 * threads : mt < threads ? threads : mt;
  *mtasks = mt;
  return mt;
}

// ln: null, or y = LayerNorm(y + residual) per row, fused into the tasks when each has whole rows
// (returns false, having done nothing, when the split would cut rows into panel tasks).
static bool linear_f32(const PackedLinear& w, const float* x, int m, float* y, int act, const LayerNormArgs* ln = nullptr) {
  const IsaKernels* kn = kernels_for(w.isa);
  GemmJob j;
  j.kn = kn;
  j.args.x = x;
  j.args.lda = w.k;
  j.args.w = &w;
  j.args.y = y;
  j.args.ldy = w.n;
  j.args.m = m;
  j.args.act = act;
  int tasks = split_f32_rows(m, w, &j.mtasks);
  if (tasks > 0) {
    j.rows_per_task = 0;
    j.panels_per_task = w.panels;
    j.ptasks = 1;
  } else {
    j.mtasks = 0;
    tasks = split_gemm(m, w, kn->mr, &j.rows_per_task, &j.panels_per_task, &j.ptasks);
  }
  if (ln) {
    if (j.ptasks != 1) return false;
    j.ln = ln;
  }
  if (tasks == 1) gemm_task(&j, 0);
  else parallel_for(tasks, gemm_task, &j);
  return true;
}

// Low precision: rows converted once (in parallel), then tasks over rows x panels as above.
namespace {
thread_local Scratch tls_lowp_x;  // the calling thread's converted rows, read by all pool threads

struct ConvertJob {
  const LowpKernels* lk;
  const float* x;
  int m, k, kp, dtype, per;
  void* xq;
  float* xscale;
  int32_t* xzp;
};

void convert_task(void* ctx, int t) {
  const HelperCpu timed;
  const ConvertJob& j = *static_cast<const ConvertJob*>(ctx);
  const int r0 = t * j.per, r1 = r0 + j.per < j.m ? r0 + j.per : j.m;
  if (r0 < r1) j.lk->convert_rows(j.x, j.k, j.kp, j.dtype, r0, r1, j.xq, j.xscale, j.xzp);
}

struct LowpJob {
  LowpArgs args;
  int m, rows_per_task, panels_per_task, ptasks;
  const IsaKernels* kn;
  const LayerNormArgs* ln;  // as GemmJob's
};

void lowp_task(void* ctx, int t) {
  const HelperCpu timed;
  const LowpJob& j = *static_cast<const LowpJob*>(ctx);
  const PackedLinear& w = *j.args.w;
  const int mt = t / j.ptasks, pt = t % j.ptasks;
  const int m0 = mt * j.rows_per_task, m1 = m0 + j.rows_per_task < j.m ? m0 + j.rows_per_task : j.m;
  const int p0 = pt * j.panels_per_task, p1 = p0 + j.panels_per_task < w.panels ? p0 + j.panels_per_task : w.panels;
  if (m0 >= m1 || p0 >= p1) return;
  void* tile = thread_scratch((size_t)w.lowp->mr * w.nr);
  if (!tile) abort();
  if (w.dtype == kDtypeInt8) w.lowp->int8_block(j.args, m0, m1, p0, p1, static_cast<int32_t*>(tile));
  else w.lowp->bf16_block(j.args, m0, m1, p0, p1, static_cast<float*>(tile));
  if (j.ln) j.kn->layernorm_rows(*j.ln, m0, m1);
}
}  // namespace

// Work split of a low-precision GEMM. An int8 tile does a quarter of a float32 tile's arithmetic
// per weight byte streamed, so tasks over rows only, when there are enough rows for every thread
// (two each, at least 32 rows): each task then converts its own rows and reuses every weight panel
// over all of them, in one pass over the pool. Otherwise split_gemm's rows x panels.
// Rows are cut evenly, not in whole micro-tiles: 212 rows in 4 tasks of 53 rather than 56, 56, 56 and
// 44, which left one thread 112 rows and the other 100 (a tile of fewer rows gives each row the same
// integer sums, or the same bf16 chain, so the split does not change any bit).
static int split_lowp(int m, const PackedLinear& w, int* rows_per_task, int* panels_per_task, int* ptasks) {
  const int threads = pool_threads(), mr = w.lowp->mr, per_thread = 2;
  if (threads > 1 && 2.0 * m * w.n * w.k >= 4e5) {
    int mt = m / 32 < per_thread * threads ? m / 32 : per_thread * threads;
    if (mt >= threads) {
      *rows_per_task = (m + mt - 1) / mt;
      *panels_per_task = w.panels;
      *ptasks = 1;
      return (m + *rows_per_task - 1) / *rows_per_task;
    }
  }
  return split_gemm(m, w, mr, rows_per_task, panels_per_task, ptasks);
}

static bool linear_lowp(const PackedLinear& w, const float* x, int m, float* y, int act, const LayerNormArgs* ln = nullptr) {
  LowpJob j;
  const int tasks = split_lowp(m, w, &j.rows_per_task, &j.panels_per_task, &j.ptasks);
  if (ln && j.ptasks != 1) return false;  // before any set-up: the caller runs the two passes instead
  const IsaKernels* kn = kernels_for(w.isa);
  // Converted rows: u8 (int8) or bf16 bits, then per-row scale and zero point.
  const size_t row_bytes = (size_t)w.kp * (w.dtype == kDtypeInt8 ? 1 : 2);
  const size_t xbytes = ((size_t)m * row_bytes + 63) / 64 * 64;
  float* buf = tls_lowp_x.get(xbytes / 4 + 2 * (size_t)m);
  if (!buf) abort();
  ConvertJob cj{w.lowp, x, m, w.k, w.kp, w.dtype, 0, buf, buf + xbytes / 4, reinterpret_cast<int32_t*>(buf + xbytes / 4 + m)};
  j.args = LowpArgs{&w, cj.xq, cj.xscale, cj.xzp, nullptr, y, w.n, act, kn->activate};
  j.m = m;
  j.kn = kn;
  j.ln = ln;
  if (j.ptasks == 1) {
    // Every task has all panels of its rows: it converts them itself, block by block, just before
    // use (one pass over the threads instead of two, and the rows are still in cache).
    j.args.x = x;
  } else {
    cj.per = 16384 / w.k > 1 ? 16384 / w.k : 1;  // ~64 KB of x a task (k > 0 here)
    const int ctasks = (m + cj.per - 1) / cj.per;
    if (pool_threads() > 1 && ctasks > 1) parallel_for(ctasks, convert_task, &cj);
    else for (int t = 0; t < ctasks; t++) convert_task(&cj, t);
  }
  if (tasks == 1) lowp_task(&j, 0);
  else parallel_for(tasks, lowp_task, &j);
  return true;
}

// The float32 or the low-precision GEMM of a layer; false when it cannot fuse the LayerNorm asked for.
using LinearRunner = bool (*)(const PackedLinear&, const float*, int, float*, int, const LayerNormArgs*);
static LinearRunner linear_runner(const PackedLinear& w) { return w.dtype == kDtypeF32 ? linear_f32 : linear_lowp; }

void linear(const PackedLinear& w, const float* x, int m, float* y, int act) {
  if (m <= 0 || w.n <= 0) return;
  const IsaKernels* kn = kernels_for(w.isa);
  if (w.k == 0) {  // no inputs: y = act(b)
    for (int r = 0; r < m; r++)
      for (int c = 0; c < w.n; c++) y[(size_t)r * w.n + c] = w.bias ? w.bias[c] : 0.0f;
    kn->activate(y, (size_t)m * w.n, act);
    return;
  }
  const LinearRunner run = linear_runner(w);
  if (!profiling()) {
    run(w, x, m, y, act, nullptr);
    return;
  }
  // Profiled: the activation as its own pass (the same values as in the epilogue), each timed.
  char op[48];
  snprintf(op, sizeof op, "linear %s %dx%d", dtype_name(w.dtype), w.n, w.k);
  const Stopwatch gemm;
  run(w, x, m, y, kActNone, nullptr);
  profile_add(op, gemm, 2.0 * m * w.n * w.k);
  if (act != kActNone) {
    snprintf(op, sizeof op, "activation %s", act_name(act));
    const Stopwatch pass;
    kn->activate(y, (size_t)m * w.n, act);
    profile_add(op, pass, 0);
  }
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
  const HelperCpu timed;
  const LayerNormJob& j = *static_cast<const LayerNormJob*>(ctx);
  const int r0 = t * j.per, r1 = r0 + j.per < j.rows ? r0 + j.per : j.rows;
  if (r0 < r1) j.kn->layernorm_rows(j.args, r0, r1);
}
}  // namespace

void add_layernorm(int isa, const float* x, const float* residual, int rows, int cols, const float* gamma,
                   const float* beta, float eps, float* y) {
  if (rows <= 0 || cols <= 0) return;
  ProfileScope timed(residual ? "add + layernorm" : "layernorm");
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

void linear_add_layernorm(const PackedLinear& w, const float* x, int m, const float* residual, const float* gamma,
                          const float* beta, float eps, float* y) {
  if (m <= 0 || w.n <= 0) return;
  const LayerNormArgs ln{y, residual, gamma, beta, y, w.n, eps};
  if (w.k > 0) {
    const LinearRunner run = linear_runner(w);
    if (!profiling()) {
      if (run(w, x, m, y, kActNone, &ln)) return;
    } else {
      char op[48];
      snprintf(op, sizeof op, "linear %s %dx%d + add + layernorm", dtype_name(w.dtype), w.n, w.k);
      const Stopwatch fused;
      if (run(w, x, m, y, kActNone, &ln)) return profile_add(op, fused, 2.0 * m * w.n * w.k);
    }
  }
  // The split cuts rows into panel tasks (or there are no inputs): the two passes.
  linear(w, x, m, y, kActNone);
  add_layernorm(w.isa, y, residual, m, w.n, gamma, beta, eps, y);
}

// ------------------------------------------------------------------------------------------------
// Embeddings + LayerNorm
// ------------------------------------------------------------------------------------------------

namespace {
// f16 bits -> float32 bits for all 65536 patterns (256 KB, built once): the gather converts a word
// row with one load per element instead of f16_to_f32's branches.
const uint32_t* f16_table() {
  static const uint32_t* table = [] {
    uint32_t* t = static_cast<uint32_t*>(malloc(sizeof(uint32_t) * 65536));
    if (!t) abort();
    for (uint32_t h = 0; h < 65536; h++) {
      const float f = f16_to_f32((uint16_t)h);
      memcpy(&t[h], &f, 4);
    }
    return t;
  }();
  return table;
}

struct EmbeddingJob {
  const IsaKernels* kn;
  const void* words;
  int format;
  const float *types, *positions, *gamma, *beta;
  const int32_t *ids, *type_ids, *pos_ids;
  const uint32_t* f16;
  int rows, width, per;
  float eps;
  float* y;
};

void embedding_task(void* ctx, int t) {
  const HelperCpu timed;
  const EmbeddingJob& j = *static_cast<const EmbeddingJob*>(ctx);
  const int r0 = t * j.per, r1 = r0 + j.per < j.rows ? r0 + j.per : j.rows;
  const int w = j.width;
  float* sum = thread_scratch((size_t)w);  // words + types of one row
  if (!sum) abort();
  uint32_t* bits = reinterpret_cast<uint32_t*>(sum);
  for (int r = r0; r < r1; r++) {
    const size_t wo = (size_t)j.ids[r] * w;
    switch (j.format) {
      case kWeightF16: {
        const uint16_t* h = static_cast<const uint16_t*>(j.words) + wo;
        if (!j.f16) f16_to_f32(h, sum, (size_t)w);
        else for (int c = 0; c < w; c++) bits[c] = j.f16[h[c]];
        break;
      }
      case kWeightBF16: {
        const uint16_t* h = static_cast<const uint16_t*>(j.words) + wo;
        for (int c = 0; c < w; c++) bits[c] = (uint32_t)h[c] << 16;
        break;
      }
      default: memcpy(sum, static_cast<const float*>(j.words) + wo, sizeof(float) * w); break;
    }
    if (j.types) {
      const float* ty = j.types + (size_t)j.type_ids[r] * w;
      for (int c = 0; c < w; c++) sum[c] += ty[c];
    }
    // LayerNorm(sum + position): the kernel adds the residual first, in float32, as PyTorch does.
    const LayerNormArgs a{sum, j.positions + (size_t)j.pos_ids[r] * w, j.gamma, j.beta, j.y + (size_t)r * w, w, j.eps};
    j.kn->layernorm_rows(a, 0, 1);
  }
}
}  // namespace

void embedding_layernorm(int isa, const void* words, int format, const float* types, const float* positions,
                         const int32_t* ids, const int32_t* type_ids, const int32_t* pos_ids, int rows, int width,
                         const float* gamma, const float* beta, float eps, float* y) {
  if (rows <= 0 || width <= 0) return;
  ProfileScope timed("embeddings + layernorm");
  EmbeddingJob j;
  j.kn = kernels_for(isa);
  j.words = words;
  j.format = format;
  j.types = types;
  j.positions = positions;
  j.gamma = gamma;
  j.beta = beta;
  j.ids = ids;
  j.type_ids = type_ids;
  j.pos_ids = pos_ids;
  // f16 rows: the F16C instruction with the AVX2 / AVX-512 kernel sets, else the lookup table (null: F16C).
  j.f16 = format == kWeightF16 && !(isa != kIsaGeneric && f16c_available()) ? f16_table() : nullptr;
  j.rows = rows;
  j.width = width;
  j.eps = eps;
  j.y = y;
  j.per = 16384 / width > 1 ? 16384 / width : 1;
  const int tasks = (rows + j.per - 1) / j.per;
  if (pool_threads() <= 1 || tasks == 1) {
    for (int t = 0; t < tasks; t++) embedding_task(&j, t);
  } else {
    parallel_for(tasks, embedding_task, &j);
  }
}

// ------------------------------------------------------------------------------------------------
// Mean pooling
// ------------------------------------------------------------------------------------------------

namespace {
struct MeanPoolJob {
  const float* x;
  const int32_t* starts;
  int width;
  float* y;
};
void mean_pool_task(void* ctx, int s) {
  const MeanPoolJob& j = *static_cast<const MeanPoolJob*>(ctx);
  const int w = j.width;
  double* acc = reinterpret_cast<double*>(thread_scratch(2 * (size_t)w));
  if (!acc) abort();
  for (int c = 0; c < w; c++) acc[c] = 0.0;
  for (int r = j.starts[s]; r < j.starts[s + 1]; r++) {
    const float* row = j.x + (size_t)r * w;
    for (int c = 0; c < w; c++) acc[c] += (double)row[c];
  }
  const double len = (double)(j.starts[s + 1] - j.starts[s]);
  float* out = j.y + (size_t)s * w;
  for (int c = 0; c < w; c++) out[c] = (float)(acc[c] / len);
}
}  // namespace

void mean_pool(const float* x, const int32_t* seq_starts, int nseq, int width, float* y) {
  if (nseq <= 0 || width <= 0) return;
  ProfileScope timed("mean pooling");
  MeanPoolJob j{x, seq_starts, width, y};
  if (pool_threads() <= 1 || (double)(seq_starts[nseq] - seq_starts[0]) * width < 65536) {
    for (int s = 0; s < nseq; s++) mean_pool_task(&j, s);
  } else {
    parallel_for(nseq, mean_pool_task, &j);
  }
}

// ------------------------------------------------------------------------------------------------
// Attention
// ------------------------------------------------------------------------------------------------

namespace {
// Tasks are (sequence, group of heads, block of query rows), ordered for the pool's two ends (the
// caller claims from the front, helpers from the back): the first half of the rows' sequences from
// the front longest first, the second half's from the back longest first, so that each core mostly
// reads the QKV rows its own GEMM tasks wrote and the last tasks handed out are short ones. With
// enough sequences a task takes all heads of one: the kernel then transposes the sequence's keys
// and copies its values in one streaming pass over its rows. Heads are split into groups only when
// there are too few sequences to keep every thread busy, and a sequence is cut into query blocks
// only when even single heads are too few (one long sequence), since each task transposes its
// heads' keys once. Rows do not depend on the split (api.h).

struct AttentionJob {
  const IsaKernels* kn;
  AttentionArgs args;
  const int32_t* starts;
  const size_t* probs_offset;  // per sequence, or null
  float* probs;
  int heads;
  const int* order;       // sequences, longest first
  const int* first_task;  // per position p in order: its first task; tasks of a sequence are (group, query block) pairs
  int nseq;
  int group;   // heads per task
  int qblock;  // query rows per task
};
void attention_task(void* ctx, int t) {
  const HelperCpu timed;
  const AttentionJob& j = *static_cast<const AttentionJob*>(ctx);
  // Binary search for the position in order owning task t.
  int lo = 0, hi = j.nseq - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (j.first_task[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  const int s = j.order[lo];
  const int start = j.starts[s], len = j.starts[s + 1] - start;
  if (len <= 0) return;
  const int blocks = (len + j.qblock - 1) / j.qblock;
  const int local = t - j.first_task[lo];
  const int g = local / blocks, b = local % blocks;
  const int h0 = g * j.group, h1 = h0 + j.group < j.heads ? h0 + j.group : j.heads;
  const int q0 = b * j.qblock, q1 = q0 + j.qblock < len ? q0 + j.qblock : len;
  float* scratch = thread_scratch(j.kn->attention_scratch_floats(len, j.args.head_dim, h1 - h0));
  if (!scratch) abort();
  float* probs = j.probs ? j.probs + j.probs_offset[s] : nullptr;
  j.kn->attention_heads(j.args, start, len, h0, h1, q0, q1, probs, scratch);
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
  j.nseq = nseq;
  size_t* offsets = probs ? static_cast<size_t*>(malloc(sizeof(size_t) * (size_t)nseq)) : nullptr;
  int* first_task = static_cast<int*>(malloc(sizeof(int) * (size_t)nseq));
  int* order = static_cast<int*>(malloc(sizeof(int) * (size_t)nseq));
  if ((probs && !offsets) || !first_task || !order) abort();
  double work = 0;
  size_t off = 0;
  int longest = 0;
  for (int s = 0; s < nseq; s++) {
    const size_t len = (size_t)(seq_starts[s + 1] - seq_starts[s]);
    if (offsets) offsets[s] = off;
    off += (size_t)heads * len * len;
    work += (double)heads * len * len * head_dim;
    longest = (int)len > longest ? (int)len : longest;
    order[s] = s;
  }
  auto len_of = [&](int s) { return seq_starts[s + 1] - seq_starts[s]; };
  // The caller claims tasks from the front and the pool's helpers from the back (thread_pool.cc),
  // as in the GEMMs before, whose row tasks leave the first rows in the caller's cache and the last
  // ones in a helper's. So the sequences centred in the first half of the rows come first, longest
  // first, and the others after them, longest last: each side starts with its longest (the last
  // tasks handed out, where the two meet, are short ones) and mostly reads QKV rows its own core
  // wrote. Rows do not depend on the order.
  const int mid_row = (seq_starts[nseq] + seq_starts[0]) / 2;
  auto in_front = [&](int s) { return seq_starts[s] + len_of(s) / 2 < mid_row; };
  const int* front_end = std::stable_partition(order, order + nseq, in_front);
  const int nfront = (int)(front_end - order);
  std::stable_sort(order, order + nfront, [&](int x, int y) { return len_of(x) > len_of(y); });
  std::stable_sort(order + nfront, order + nseq, [&](int x, int y) { return len_of(x) < len_of(y); });
  // About four tasks per thread: whole sequences when there are enough of them, else groups of heads,
  // else single heads cut into blocks of at least 32 query rows. A group's keys and values (~2 x
  // len x d floats per head) stay within ~512 KB of scratch, so they stay in L2.
  const long want = 4L * pool_threads();
  const long per_head = 2L * head_dim * (longest + 16);
  const int fit = (int)(131072 / (per_head > 0 ? per_head : 1));
  int groups = (int)((want + nseq - 1) / nseq);
  const int by_size = (heads + (fit > 1 ? fit : 1) - 1) / (fit > 1 ? fit : 1);  // groups of at most `fit` heads
  groups = groups < by_size ? by_size : groups;
  groups = groups < 1 ? 1 : groups > heads ? heads : groups;
  j.group = (heads + groups - 1) / groups;  // even groups: 12 heads by at most 11 are 6 + 6, not 11 + 1
  const long units = (long)nseq * ((heads + j.group - 1) / j.group);
  j.qblock = longest > 0 ? longest : 1;
  if (units < want && longest > 32) {
    const long cuts = (want + units - 1) / units;
    const int q = (int)((longest + cuts - 1) / cuts);
    j.qblock = q < 32 ? 32 : (q + 7) / 8 * 8;
  }
  long tasks = 0;
  const int ngroups = (heads + j.group - 1) / j.group;
  for (int p = 0; p < nseq; p++) {
    const long len = len_of(order[p]);
    first_task[p] = (int)tasks;
    tasks += (long)ngroups * ((len + j.qblock - 1) / j.qblock);
  }
  ProfileScope timed("attention", 4.0 * work);
  j.probs_offset = offsets;
  j.order = order;
  j.first_task = first_task;
  const int ntasks = (int)tasks;
  if (pool_threads() <= 1 || work < 1e5) {
    for (int t = 0; t < ntasks; t++) attention_task(&j, t);
  } else {
    parallel_for(ntasks, attention_task, &j);
  }
  free(offsets);
  free(first_task);
  free(order);
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
  const HelperCpu timed;
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

// ------------------------------------------------------------------------------------------------
// Peak probes
// ------------------------------------------------------------------------------------------------

namespace {
struct ProbeJob {
  double (*probe)(long);
  long iters;
  double rate[64];  // per task: operations per second of this thread's own CPU time
};
void probe_task(void* ctx, int t) {
  ProbeJob& j = *static_cast<ProbeJob*>(ctx);
  const double t0 = thread_cpu_seconds();
  const double ops = j.probe(j.iters);
  j.rate[t] = ops / (thread_cpu_seconds() - t0);
}
}  // namespace

// Each thread's rate is taken over its own CPU time, not the wall clock, so that a busy host (other
// processes taking turns on the cores) does not lower the limit; the threads run at once, so shared
// clock or power limits still show.
double peak_gops(int isa, int kind, int threads) {
  const LowpKernels* lk = lowp_for(isa);
  if (!lk || threads < 1 || threads > 64) return 0;
  double (*probe)(long) = kind == 0 ? lk->fma_probe : kind == 1 ? lk->int8_probe : lk->bf16_probe;
  const double per_iter = probe(1);
  if (per_iter == 0) return 0;
  probe(2000000);  // warm up: clocks, and the wide units' power-up
  const int saved = pool_threads();
  pool_set_threads(threads);
  ProbeJob j;
  j.probe = probe;
  j.iters = (long)(5e9 / per_iter);  // ~25 ms per thread at 50 ops per cycle and 4 GHz
  double best = 0;
  for (int round = 0; round < 5; round++) {
    for (int t = 0; t < threads; t++) j.rate[t] = 0;
    parallel_for(threads, probe_task, &j);
    double rate = 0;
    for (int t = 0; t < threads; t++) rate += j.rate[t];
    best = rate > best ? rate : best;
  }
  pool_set_threads(saved);
  return best / 1e9;
}

}  // namespace bt

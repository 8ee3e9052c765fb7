// N-API glue: argument checks, typed-array access and handle lifetime. All arithmetic lives in
// ../kernels. Every function is synchronous (the Backend interface is); the heavy ones use the
// kernel thread pool internally. The module keeps no per-environment state, so it loads in the main
// thread and in any number of worker_threads.
#include <napi.h>

#include <stdint.h>
#include <string.h>
#include <memory>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "../kernels/api.h"
#include "../kernels/half_convert.h"
#include "../kernels/ops.h"
#include "../kernels/reference.h"
#include "../kernels/thread_pool.h"
#include "json_numbers.h"
#include "mapped_view.h"
#include "packed_file.h"
#include "wordpiece.h"

namespace {

// A packed weight owned by a JS External. free() releases it early; the GC finalizer releases
// whatever is left.
struct LinearHandle {
  bt::PackedLinear* w;
  // Set when w's arrays live in a mapped packed-weight cache file (view_packed), kept mapped while
  // any layer of it is alive; null when w owns its memory.
  std::shared_ptr<bt::MappedFile> file;
};

void unmap_deleter(bt::MappedFile* f) {
  bt::unmap_file(f);
  delete f;
}

// Frees a handle's weights (once): its own memory, or its share of the mapped file.
void release_linear(Napi::Env env, LinearHandle* h) {
  if (!h->w) return;
  if (h->file) {
    bt::free_linear_view(h->w);
    h->file.reset();
  } else {
    Napi::MemoryManagement::AdjustExternalMemory(env, -(int64_t)h->w->bytes);
    bt::free_linear(h->w);
  }
  h->w = nullptr;
}

[[noreturn]] void throw_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

Napi::Float32Array f32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(info.Env(), std::string("Expected a Float32Array for ") + what);
  return v.As<Napi::Float32Array>();
}

const float* f32_or_null(const Napi::CallbackInfo& info, size_t i, const char* what, size_t want) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  Napi::Float32Array a = f32(info, i, what);
  if (a.ElementLength() < want)
    throw Napi::RangeError::New(info.Env(), std::string("Expected at least ") + std::to_string(want) +
                                                " values for " + what + " but received " +
                                                std::to_string(a.ElementLength()));
  return a.Data();
}

float* f32_at_least(const Napi::CallbackInfo& info, size_t i, const char* what, size_t want) {
  Napi::Float32Array a = f32(info, i, what);
  if (a.ElementLength() < want)
    throw Napi::RangeError::New(info.Env(), std::string("Expected at least ") + std::to_string(want) +
                                                " values for " + what + " but received " +
                                                std::to_string(a.ElementLength()));
  return a.Data();
}

int int_arg(const Napi::CallbackInfo& info, size_t i, const char* what, int lo = 0) {
  if (!info[i].IsNumber()) throw_type(info.Env(), std::string("Expected a number for ") + what);
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= lo) || d > 2147483647.0 || d != (double)(int64_t)d)
    throw Napi::RangeError::New(info.Env(), std::string("Expected an integer >= ") + std::to_string(lo) + " for " + what);
  return (int)d;
}

const bt::IsaKernels* isa_arg(const Napi::CallbackInfo& info, size_t i, int* isa) {
  *isa = int_arg(info, i, "isa");
  const bt::IsaKernels* k = bt::kernels_for(*isa);
  if (!k) throw Napi::Error::New(info.Env(), std::string("ISA not supported on this CPU: ") + bt::isa_name(*isa));
  return k;
}

bt::PackedLinear* linear_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw_type(info.Env(), "Expected a prepared linear handle");
  LinearHandle* h = info[i].As<Napi::External<LinearHandle>>().Data();
  if (!h || !h->w) throw Napi::Error::New(info.Env(), "The linear layer's weights were already released (dispose)");
  return h->w;
}

// info() -> { isas: string[], best: string, threads: number, cpus: number }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  Napi::Array isas = Napi::Array::New(env);
  uint32_t n = 0;
  for (int isa = bt::kIsaCount - 1; isa >= 0; isa--)
    if (bt::kernels_for(isa)) isas.Set(n++, Napi::String::New(env, bt::isa_name(isa)));
  o.Set("isas", isas);
  o.Set("best", Napi::String::New(env, bt::isa_name(bt::best_isa())));
  o.Set("threads", Napi::Number::New(env, bt::pool_threads()));
  o.Set("cpus", Napi::Number::New(env, bt::available_cpus()));
  Napi::Object tiles = Napi::Object::New(env);
  for (int isa = 0; isa < bt::kIsaCount; isa++) {
    const bt::IsaKernels* k = bt::kernels_for(isa);
    if (!k) continue;
    tiles.Set(bt::isa_name(isa), Napi::String::New(env, std::to_string(k->mr) + "x" + std::to_string(k->nr) +
                                                            " kc=" + std::to_string(k->kc) +
                                                            " mc=" + std::to_string(k->mc)));
  }
  o.Set("tiles", tiles);
  Napi::Object lowp = Napi::Object::New(env);
  for (int isa = 0; isa < bt::kIsaCount; isa++) {
    const bt::LowpKernels* k = bt::lowp_for(isa);
    if (k) lowp.Set(bt::isa_name(isa), Napi::String::New(env, k->name));
  }
  o.Set("lowp", lowp);
  o.Set("profiling", Napi::Boolean::New(env, bt::profiling()));
  return o;
}

Napi::Value IsaIndex(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw_type(info.Env(), "Expected an ISA name");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  for (int isa = 0; isa < bt::kIsaCount; isa++)
    if (name == bt::isa_name(isa)) return Napi::Number::New(info.Env(), isa);
  return Napi::Number::New(info.Env(), -1);
}

// setThreads(n)
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  bt::pool_set_threads(int_arg(info, 0, "threads", 1));
  return info.Env().Undefined();
}

// prepareLinear(isa, weight, format, bias | null, outFeatures, inFeatures, dtype = 0) -> handle
// weight: a Float32Array (format 0), or the bits of f16 (1) / bf16 (2) values in a Uint16Array.
// dtype: what the layer computes in, 0 float32, 1 bf16, 2 int8 (bt::Dtype).
// It is copied into the packed layout, so the caller may reuse its memory afterwards.
Napi::Value PrepareLinear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int isa;
  isa_arg(info, 0, &isa);
  const int format = int_arg(info, 2, "format");
  const int n = int_arg(info, 4, "outFeatures", 1), k = int_arg(info, 5, "inFeatures", 0);
  const size_t want = (size_t)n * k;
  const void* w;
  if (format == bt::kWeightF32) {
    w = f32_at_least(info, 1, "weight", want);
  } else if (format == bt::kWeightF16 || format == bt::kWeightBF16) {
    Napi::Value v = info[1];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
      throw_type(env, "Expected a Uint16Array of half-precision bits for weight");
    Napi::Uint16Array a = v.As<Napi::Uint16Array>();
    if (a.ElementLength() < want)
      throw Napi::RangeError::New(env, "Expected at least " + std::to_string(want) + " values for weight but received " +
                                           std::to_string(a.ElementLength()));
    w = a.Data();
  } else {
    throw Napi::RangeError::New(env, "Unknown weight format " + std::to_string(format));
  }
  const float* b = f32_or_null(info, 3, "bias", (size_t)n);
  const int dtype = info.Length() > 6 && !info[6].IsUndefined() ? int_arg(info, 6, "dtype") : bt::kDtypeF32;
  if (dtype > bt::kDtypeInt8) throw Napi::RangeError::New(env, "Unknown dtype " + std::to_string(dtype));
  bt::PackedLinear* p = bt::pack_linear(isa, w, format, b, n, k, dtype);
  if (!p) throw Napi::Error::New(env, "Out of memory packing a linear layer");
  LinearHandle* h = new LinearHandle{p, nullptr};
  const int64_t bytes = (int64_t)p->bytes;
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  return Napi::External<LinearHandle>::New(env, h, [](Napi::Env env, LinearHandle* h) {
    release_linear(env, h);
    delete h;
  });
}

Napi::Value WrapLinear(Napi::Env env, bt::PackedLinear* p) {
  LinearHandle* h = new LinearHandle{p, nullptr};
  Napi::MemoryManagement::AdjustExternalMemory(env, (int64_t)p->bytes);
  return Napi::External<LinearHandle>::New(env, h, [](Napi::Env env, LinearHandle* h) {
    release_linear(env, h);
    delete h;
  });
}

// exportPacked(handle) -> Uint8Array: a layer's packed bytes (ops.h export_packed).
Napi::Value ExportPacked(const Napi::CallbackInfo& info) {
  bt::PackedLinear* w = linear_arg(info, 0);
  const size_t n = bt::packed_size(*w);
  if (n == 0) return info.Env().Null();
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), n);
  bt::export_packed(*w, out.Data());
  return out;
}

// importPacked(isa, bytes) -> handle | null (null: the bytes are not a layer this build and CPU can run).
Napi::Value ImportPacked(const Napi::CallbackInfo& info) {
  int isa;
  isa_arg(info, 0, &isa);
  Napi::Value v = info[1];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_type(info.Env(), "Expected a Uint8Array of packed bytes");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  bt::PackedLinear* p = bt::import_packed(isa, a.Data(), a.ElementLength());
  if (!p) return info.Env().Null();
  return WrapLinear(info.Env(), p);
}

// xxh64(bytes) -> bigint: the packed-weight cache file's checksum (packed_file.h).
Napi::Value Xxh64(const Napi::CallbackInfo& info) {
  Napi::Value v = info[0];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_type(info.Env(), "Expected a Uint8Array to hash");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return Napi::BigInt::New(info.Env(), (uint64_t)bt::xxh64(a.Data(), a.ElementLength()));
}

// importPackedFile(isa, path, layers) -> (handle | null)[] | null. layers: a Float64Array of
// [offset, length, dtype, outFeatures, inFeatures] per layer. null when the file cannot be read or
// its last 8 bytes are not the xxh64 (little-endian) of the rest: a corrupt file. A layer is null
// when its range is outside the file, its header names another dtype or shape, or importPacked
// would refuse its bytes (another kernel layout).
Napi::Value ImportPackedFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int isa;
  isa_arg(info, 0, &isa);
  if (!info[1].IsString()) throw_type(env, "Expected a path");
  const std::string path = info[1].As<Napi::String>().Utf8Value();
  Napi::Value rv = info[2];
  if (!rv.IsTypedArray() || rv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw_type(env, "Expected a Float64Array of [offset, length, dtype, out, in] per layer");
  Napi::Float64Array ranges = rv.As<Napi::Float64Array>();
  std::shared_ptr<bt::MappedFile> mapping(new bt::MappedFile, unmap_deleter);
  if (!bt::map_file(path.c_str(), mapping.get())) return env.Null();
  const bt::MappedFile& file = *mapping;
  if (file.size < 8) return env.Null();
  uint64_t stored;
  memcpy(&stored, file.data + file.size - 8, 8);
  if (bt::xxh64(file.data, file.size - 8) != stored) return env.Null();
  const size_t layers = ranges.ElementLength() / 5;
  Napi::Array out = Napi::Array::New(env, layers);
  for (size_t i = 0; i < layers; i++) {
    const double* r = &ranges.Data()[5 * i];
    const double off = r[0], len = r[1];
    bt::PackedLinear* p = nullptr;
    int32_t head[6] = {0};
    if (off >= 0 && len >= sizeof head && off + len <= (double)(file.size - 8)) {
      memcpy(head, file.data + (size_t)off, sizeof head);  // magic, version, isa, dtype, n, k
      if (head[3] == r[2] && head[4] == r[3] && head[5] == r[4]) {
        // Read in place from the mapping when aligned (no fresh pages to fault in), else copied.
        p = file.mapped ? bt::view_packed(isa, file.data + (size_t)off, (size_t)len) : nullptr;
        if (p) {
          out.Set((uint32_t)i, Napi::External<LinearHandle>::New(env, new LinearHandle{p, mapping}, [](Napi::Env env, LinearHandle* h) {
            release_linear(env, h);
            delete h;
          }));
          continue;
        }
        p = bt::import_packed(isa, file.data + (size_t)off, (size_t)len);
      }
    }
    out.Set((uint32_t)i, p ? WrapLinear(env, p) : env.Null());
  }
  return out;
}

// halfToFloat32(src, format, dst): dst[i] = the float32 of the half-precision bits src[i] (format 1:
// f16, 2: bf16), exactly, for i < dst.length. src: a Uint16Array of at least dst.length bits. For
// the float32 tensors of half-precision checkpoints (src/io/dtype.ts), at load.
Napi::Value HalfToFloat32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value sv = info[0];
  if (!sv.IsTypedArray() || sv.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    throw_type(env, "Expected a Uint16Array of half-precision bits");
  const int format = int_arg(info, 1, "format");
  if (format != 1 && format != 2) throw_type(env, "Expected format 1 (f16) or 2 (bf16)");
  Napi::Float32Array dst = f32(info, 2, "the float32 output");
  Napi::Uint16Array src = sv.As<Napi::Uint16Array>();
  if (src.ElementLength() < dst.ElementLength()) throw_type(env, "Expected at least as many half values as float32 outputs");
  (format == 1 ? bt::f16_to_f32 : bt::bf16_to_f32)(src.Data(), dst.Data(), dst.ElementLength());
  return env.Undefined();
}

// freeLinear(handle): releases the packed weights now.
Napi::Value FreeLinear(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw_type(info.Env(), "Expected a prepared linear handle");
  LinearHandle* h = info[0].As<Napi::External<LinearHandle>>().Data();
  if (h) release_linear(info.Env(), h);
  return info.Env().Undefined();
}

// linear(handle, x, rows, act, y)
Napi::Value Linear(const Napi::CallbackInfo& info) {
  bt::PackedLinear* w = linear_arg(info, 0);
  const int rows = int_arg(info, 2, "rows");
  const int act = int_arg(info, 3, "activation");
  const float* x = f32_at_least(info, 1, "x", (size_t)rows * w->k);
  float* y = f32_at_least(info, 4, "y", (size_t)rows * w->n);
  bt::linear(*w, x, rows, y, act);
  return info.Env().Undefined();
}

// The arguments addLayerNorm and naiveAddLayerNorm share, starting at index `first`:
// (x, residual | null, rows, cols, gamma, beta, eps, y).
struct LayerNormCall {
  const float *x, *residual, *gamma, *beta;
  int rows, cols;
  float eps;
  float* y;
};

LayerNormCall layernorm_args(const Napi::CallbackInfo& info, int first) {
  LayerNormCall a;
  a.rows = int_arg(info, first + 2, "rows");
  a.cols = int_arg(info, first + 3, "cols");
  const size_t total = (size_t)a.rows * a.cols;
  a.x = f32_at_least(info, first, "x", total);
  a.residual = f32_or_null(info, first + 1, "residual", total);
  a.gamma = f32_at_least(info, first + 4, "gamma", (size_t)a.cols);
  a.beta = f32_at_least(info, first + 5, "beta", (size_t)a.cols);
  a.eps = (float)info[first + 6].As<Napi::Number>().DoubleValue();
  a.y = f32_at_least(info, first + 7, "y", total);
  return a;
}

// addLayerNorm(isa, x, residual | null, rows, cols, gamma, beta, eps, y)
Napi::Value AddLayerNorm(const Napi::CallbackInfo& info) {
  int isa;
  isa_arg(info, 0, &isa);
  const LayerNormCall a = layernorm_args(info, 1);
  bt::add_layernorm(isa, a.x, a.residual, a.rows, a.cols, a.gamma, a.beta, a.eps, a.y);
  return info.Env().Undefined();
}

// linearAddLayerNorm(handle, x, rows, residual, gamma, beta, eps, y): y = LayerNorm(x . W^T + b +
// residual) per row. y must not overlap x or residual (checked by the caller, native.ts).
Napi::Value LinearAddLayerNorm(const Napi::CallbackInfo& info) {
  bt::PackedLinear* w = linear_arg(info, 0);
  const int rows = int_arg(info, 2, "rows");
  const size_t total = (size_t)rows * w->n;
  const float* x = f32_at_least(info, 1, "x", (size_t)rows * w->k);
  const float* residual = f32_at_least(info, 3, "residual", total);
  const float* gamma = f32_at_least(info, 4, "gamma", (size_t)w->n);
  const float* beta = f32_at_least(info, 5, "beta", (size_t)w->n);
  const float eps = (float)info[6].As<Napi::Number>().DoubleValue();
  float* y = f32_at_least(info, 7, "y", total);
  bt::linear_add_layernorm(*w, x, rows, residual, gamma, beta, eps, y);
  return info.Env().Undefined();
}

// An Int32Array of exactly `n` ids, each in [0, limit).
const int32_t* ids_arg(const Napi::CallbackInfo& info, size_t i, const char* what, size_t n, size_t limit) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(info.Env(), std::string("Expected an Int32Array for ") + what);
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() != n)
    throw Napi::RangeError::New(info.Env(), std::string("Expected ") + std::to_string(n) + " values for " + what +
                                                " but received " + std::to_string(a.ElementLength()));
  const int32_t* p = a.Data();
  for (size_t r = 0; r < n; r++)
    if (p[r] < 0 || (size_t)p[r] >= limit)
      throw Napi::RangeError::New(info.Env(), std::string("Expected ") + what + " in 0.." + std::to_string((long)limit - 1) +
                                                  " but received " + std::to_string(p[r]));
  return p;
}

const int32_t* seq_starts_arg(const Napi::CallbackInfo& info, size_t i, int* nseq);

// meanPool(x, seqStarts, width, y): bt::mean_pool; y [seqStarts.length - 1, width].
Napi::Value MeanPool(const Napi::CallbackInfo& info) {
  int nseq;
  const int32_t* starts = seq_starts_arg(info, 1, &nseq);
  const int width = int_arg(info, 2, "width", 1);
  const float* x = f32_at_least(info, 0, "x", (size_t)starts[nseq] * width);
  float* y = f32_at_least(info, 3, "y", (size_t)nseq * width);
  bt::mean_pool(x, starts, nseq, width, y);
  return info.Env().Undefined();
}

// embeddingLayerNorm(isa, words, format, types | null, positions, ids, typeIds | null, positionIds,
//                    width, gamma, beta, eps, y): bt::embedding_layernorm. words: a Float32Array
// (format 0) or the f16 (1) / bf16 (2) bits in a Uint16Array; tables are [count, width]; rows = ids.length.
Napi::Value EmbeddingLayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int isa;
  isa_arg(info, 0, &isa);
  const int format = int_arg(info, 2, "format");
  const int width = int_arg(info, 8, "width", 1);
  const void* words;
  size_t word_values;
  if (format == bt::kWeightF32) {
    Napi::Float32Array a = f32(info, 1, "words");
    words = a.Data();
    word_values = a.ElementLength();
  } else if (format == bt::kWeightF16 || format == bt::kWeightBF16) {
    Napi::Value v = info[1];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
      throw_type(env, "Expected a Uint16Array of half-precision bits for words");
    Napi::Uint16Array a = v.As<Napi::Uint16Array>();
    words = a.Data();
    word_values = a.ElementLength();
  } else {
    throw Napi::RangeError::New(env, "Unknown weight format " + std::to_string(format));
  }
  const bool has_types = !(info[3].IsNull() || info[3].IsUndefined());
  const float* types = has_types ? f32(info, 3, "types").Data() : nullptr;
  const size_t type_count = has_types ? f32(info, 3, "types").ElementLength() / width : 0;
  Napi::Float32Array positions = f32(info, 4, "positions");
  if (!info[5].IsTypedArray()) throw_type(env, "Expected an Int32Array for ids");
  const size_t rows = info[5].As<Napi::TypedArray>().ElementLength();
  const int32_t* ids = ids_arg(info, 5, "ids", rows, word_values / width);
  const int32_t* type_ids = has_types ? ids_arg(info, 6, "typeIds", rows, type_count) : nullptr;
  const int32_t* pos_ids = ids_arg(info, 7, "positionIds", rows, positions.ElementLength() / width);
  const float* gamma = f32_at_least(info, 9, "gamma", (size_t)width);
  const float* beta = f32_at_least(info, 10, "beta", (size_t)width);
  const float eps = (float)info[11].As<Napi::Number>().DoubleValue();
  float* y = f32_at_least(info, 12, "y", rows * width);
  if (rows > 2147483647u) throw Napi::RangeError::New(env, "Too many rows");
  bt::embedding_layernorm(isa, words, format, types, positions.Data(), ids, type_ids, pos_ids, (int)rows, width, gamma, beta,
                          eps, y);
  return env.Undefined();
}

const int32_t* seq_starts_arg(const Napi::CallbackInfo& info, size_t i, int* nseq) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(info.Env(), "Expected an Int32Array for seqStarts");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() < 1) throw Napi::RangeError::New(info.Env(), "Expected at least one value for seqStarts");
  const int32_t* s = a.Data();
  *nseq = (int)a.ElementLength() - 1;
  if (s[0] < 0) throw Napi::RangeError::New(info.Env(), "Expected seqStarts to start at a row >= 0");
  for (int j = 0; j < *nseq; j++)
    if (s[j + 1] < s[j]) throw Napi::RangeError::New(info.Env(), "Expected seqStarts to be non-decreasing");
  return s;
}

// The arguments attention and naiveAttention share, starting at index `first`:
// (qkv, seqStarts, numHeads, headDim, scale, context, probs | null, biasByDistance | null, maxDistance).
struct AttentionArgs {
  const float* qkv;
  const int32_t* starts;
  int nseq, heads, d;
  float scale;
  float* ctx;
  float* probs;
  const float* bias;  // [heads][2 * maxDistance + 1] or null
  int max_distance;
};

AttentionArgs attention_args(const Napi::CallbackInfo& info, int first) {
  AttentionArgs a;
  a.starts = seq_starts_arg(info, first + 1, &a.nseq);
  a.heads = int_arg(info, first + 2, "numHeads", 1);
  a.d = int_arg(info, first + 3, "headDim", 1);
  a.scale = (float)info[first + 4].As<Napi::Number>().DoubleValue();
  const size_t rows = (size_t)a.starts[a.nseq], hidden = (size_t)a.heads * a.d;
  a.qkv = f32_at_least(info, first, "qkv", rows * 3 * hidden);
  a.ctx = f32_at_least(info, first + 5, "context", rows * hidden);
  size_t nprobs = 0;
  for (int s = 0; s < a.nseq; s++) {
    size_t len = (size_t)(a.starts[s + 1] - a.starts[s]);
    nprobs += (size_t)a.heads * len * len;
  }
  a.probs = const_cast<float*>(f32_or_null(info, first + 6, "probs", nprobs));
  a.max_distance = 0;
  a.bias = nullptr;
  if (info.Length() > (size_t)first + 7 && !info[first + 7].IsNull() && !info[first + 7].IsUndefined()) {
    a.max_distance = int_arg(info, first + 8, "maxDistance", 0);
    a.bias = f32_at_least(info, first + 7, "biasByDistance", (size_t)a.heads * (2 * (size_t)a.max_distance + 1));
    // The kernels index the bias by j - i without checks.
    for (int s = 0; s < a.nseq; s++)
      if (a.starts[s + 1] - a.starts[s] > a.max_distance + 1)
        throw Napi::RangeError::New(info.Env(), "Expected every sequence to be at most maxDistance + 1 tokens long for the position bias");
  }
  return a;
}

// attention(isa, qkv, seqStarts, numHeads, headDim, scale, context, probs | null, biasByDistance | null, maxDistance)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  int isa;
  isa_arg(info, 0, &isa);
  const AttentionArgs a = attention_args(info, 1);
  bt::attention(isa, a.qkv, a.starts, a.nseq, a.heads, a.d, a.scale, a.ctx, a.probs, a.bias, a.max_distance);
  return info.Env().Undefined();
}

// The arguments firstRowAttention and naiveFirstRowAttention share, starting at index `first`:
// (qkv, seqStarts, numHeads, headDim, scale, out, biasTable | null, bucketOfDistance | null, maxDistance).
struct FirstRowCall {
  const float* qkv;
  const int32_t* starts;
  int nseq, heads, d;
  float scale;
  float* out;
  bool has_bias;
  bt::PositionBiasArgs bias;
};

FirstRowCall first_row_args(const Napi::CallbackInfo& info, int first) {
  FirstRowCall a;
  a.starts = seq_starts_arg(info, first + 1, &a.nseq);
  a.heads = int_arg(info, first + 2, "numHeads", 1);
  a.d = int_arg(info, first + 3, "headDim", 1);
  a.scale = (float)info[first + 4].As<Napi::Number>().DoubleValue();
  const size_t rows = (size_t)a.starts[a.nseq], hidden = (size_t)a.heads * a.d;
  a.qkv = f32_at_least(info, first, "qkv", rows * 3 * hidden);
  a.out = f32_at_least(info, first + 5, "out", rows * a.heads);
  a.has_bias = !(info[first + 6].IsNull() || info[first + 6].IsUndefined());
  a.bias = bt::PositionBiasArgs{nullptr, nullptr, 0};
  if (!a.has_bias) return a;
  // Every index the kernel will read is checked here: (j - 0) + maxDistance for j < len, and the
  // bucket each one names.
  a.bias.max_distance = int_arg(info, first + 8, "maxDistance");
  Napi::Value b = info[first + 7];
  if (!b.IsTypedArray() || b.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(info.Env(), "Expected an Int32Array for bucketOfDistance");
  Napi::Int32Array buckets = b.As<Napi::Int32Array>();
  if (buckets.ElementLength() != (size_t)(2 * a.bias.max_distance + 1))
    throw Napi::RangeError::New(info.Env(), "Expected 2 * maxDistance + 1 values for bucketOfDistance");
  Napi::Float32Array table = f32(info, first + 6, "biasTable");
  const size_t num_buckets = table.ElementLength() / a.heads;
  for (size_t i = 0; i < buckets.ElementLength(); i++)
    if (buckets[i] < 0 || (size_t)buckets[i] >= num_buckets)
      throw Napi::RangeError::New(info.Env(), "Expected bucketOfDistance entries within the bias table");
  for (int s = 0; s < a.nseq; s++)
    if (a.starts[s + 1] - a.starts[s] - 1 > a.bias.max_distance)
      throw Napi::RangeError::New(info.Env(), "A sequence is longer than the position bias' maxDistance allows");
  a.bias.table = table.Data();
  a.bias.bucket_of_distance = buckets.Data();
  return a;
}

// firstRowAttention(isa, qkv, seqStarts, numHeads, headDim, scale, out, biasTable|null, bucketOfDistance|null, maxDistance)
Napi::Value FirstRowAttention(const Napi::CallbackInfo& info) {
  int isa;
  isa_arg(info, 0, &isa);
  const FirstRowCall a = first_row_args(info, 1);
  bt::first_row_attention(isa, a.qkv, a.starts, a.nseq, a.heads, a.d, a.scale, a.has_bias ? &a.bias : nullptr, a.out);
  return info.Env().Undefined();
}

// naiveFirstRowAttention(qkv, seqStarts, numHeads, headDim, scale, out, biasTable|null, bucketOfDistance|null, maxDistance)
Napi::Value NaiveFirstRowAttention(const Napi::CallbackInfo& info) {
  const FirstRowCall a = first_row_args(info, 0);
  bt::ref::first_row_attention(a.qkv, a.starts, a.nseq, a.heads, a.d, a.scale, a.bias.table, a.bias.bucket_of_distance,
                               a.bias.max_distance, a.out);
  return info.Env().Undefined();
}

// activate(isa, y, act): the vectorised activations on their own (tests).
Napi::Value Activate(const Napi::CallbackInfo& info) {
  int isa;
  const bt::IsaKernels* k = isa_arg(info, 0, &isa);
  Napi::Float32Array y = f32(info, 1, "y");
  k->activate(y.Data(), y.ElementLength(), int_arg(info, 2, "activation"));
  return info.Env().Undefined();
}

// Naive reference kernels (tests): naiveLinear(x, weight, bias|null, rows, out, in, act, y),
// naiveAddLayerNorm(x, residual|null, rows, cols, gamma, beta, eps, y),
// naiveAttention(qkv, seqStarts, numHeads, headDim, scale, context, probs|null).
Napi::Value NaiveLinear(const Napi::CallbackInfo& info) {
  const int rows = int_arg(info, 3, "rows"), n = int_arg(info, 4, "outFeatures"), k = int_arg(info, 5, "inFeatures");
  const float* x = f32_at_least(info, 0, "x", (size_t)rows * k);
  const float* w = f32_at_least(info, 1, "weight", (size_t)n * k);
  const float* b = f32_or_null(info, 2, "bias", (size_t)n);
  float* y = f32_at_least(info, 7, "y", (size_t)rows * n);
  bt::ref::linear(x, w, b, rows, n, k, int_arg(info, 6, "activation"), y);
  return info.Env().Undefined();
}

// naiveLinearLowp(x, weight, bias|null, rows, out, in, act, dtype, y)
Napi::Value NaiveLinearLowp(const Napi::CallbackInfo& info) {
  const int rows = int_arg(info, 3, "rows"), n = int_arg(info, 4, "outFeatures"), k = int_arg(info, 5, "inFeatures");
  const float* x = f32_at_least(info, 0, "x", (size_t)rows * k);
  const float* w = f32_at_least(info, 1, "weight", (size_t)n * k);
  const float* b = f32_or_null(info, 2, "bias", (size_t)n);
  const int dtype = int_arg(info, 7, "dtype", 1);
  if (dtype > bt::kDtypeInt8) throw Napi::RangeError::New(info.Env(), "Unknown dtype " + std::to_string(dtype));
  float* y = f32_at_least(info, 8, "y", (size_t)rows * n);
  bt::ref::linear_lowp(x, w, b, rows, n, k, int_arg(info, 6, "activation"), dtype, y);
  return info.Env().Undefined();
}

Napi::Value NaiveAddLayerNorm(const Napi::CallbackInfo& info) {
  const LayerNormCall a = layernorm_args(info, 0);
  bt::ref::add_layernorm(a.x, a.residual, a.rows, a.cols, a.gamma, a.beta, a.eps, a.y);
  return info.Env().Undefined();
}

Napi::Value NaiveAttention(const Napi::CallbackInfo& info) {
  const AttentionArgs a = attention_args(info, 0);
  bt::ref::attention(a.qkv, a.starts, a.nseq, a.heads, a.d, a.scale, a.ctx, a.probs, a.bias, a.max_distance);
  return info.Env().Undefined();
}

// peak(isa, kind, threads) -> GOPS of a register-only loop: kind 0 float32 FMA, 1 int8 VPDPBUSD,
// 2 bf16 VDPBF16PS (0 when the kernel set has no such instruction). Takes ~0.2 s.
Napi::Value Peak(const Napi::CallbackInfo& info) {
  int isa;
  isa_arg(info, 0, &isa);
  const int kind = int_arg(info, 1, "kind");
  if (kind > 2) throw Napi::RangeError::New(info.Env(), "Expected kind 0 (fma), 1 (int8) or 2 (bf16)");
  return Napi::Number::New(info.Env(), bt::peak_gops(isa, kind, int_arg(info, 2, "threads", 1)));
}

// profile() -> [{ op, calls, seconds, cpuSeconds, helperCpuSeconds, flops }] (BERT_TS_PROFILE); profileReset() clears it.
Napi::Value Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bt::ProfileEntry e[64];
  const int n = bt::profile_entries(e, 64);
  Napi::Array out = Napi::Array::New(env);
  for (int i = 0; i < n && i < 64; i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("op", Napi::String::New(env, e[i].op));
    o.Set("calls", Napi::Number::New(env, (double)e[i].calls));
    o.Set("seconds", Napi::Number::New(env, e[i].seconds));
    o.Set("cpuSeconds", Napi::Number::New(env, e[i].cpu_seconds));
    o.Set("helperCpuSeconds", Napi::Number::New(env, e[i].helper_cpu_seconds));
    o.Set("flops", Napi::Number::New(env, e[i].flops));
    out.Set((uint32_t)i, o);
  }
  return out;
}

Napi::Value ProfileReset(const Napi::CallbackInfo& info) {
  bt::profile_reset();
  return info.Env().Undefined();
}

// releaseFreeMemory(): returns the C heap's free pages to the OS (glibc malloc_trim); no-op elsewhere.
Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return info.Env().Undefined();
}

// floatsToAlignment(array): how many float32 elements from the array's start to the next 64-byte
// boundary (0..15), so that callers can cut buffers whose rows start on cache lines: Node's
// allocator hands out large ArrayBuffers 16 bytes past one, which splits every 64-byte load and
// makes two threads writing neighbouring columns of a row share a line.
Napi::Value FloatsToAlignment(const Napi::CallbackInfo& info) {
  Napi::Float32Array a = f32(info, 0, "array");
  const uintptr_t address = reinterpret_cast<uintptr_t>(a.Data());
  if (address % 4 != 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), (double)(((64 - address % 64) % 64) / 4));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("floatsToAlignment", Napi::Function::New(env, FloatsToAlignment, "floatsToAlignment"));
  exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory, "releaseFreeMemory"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("isaIndex", Napi::Function::New(env, IsaIndex, "isaIndex"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("prepareLinear", Napi::Function::New(env, PrepareLinear, "prepareLinear"));
  exports.Set("freeLinear", Napi::Function::New(env, FreeLinear, "freeLinear"));
  exports.Set("linear", Napi::Function::New(env, Linear, "linear"));
  exports.Set("addLayerNorm", Napi::Function::New(env, AddLayerNorm, "addLayerNorm"));
  exports.Set("linearAddLayerNorm", Napi::Function::New(env, LinearAddLayerNorm, "linearAddLayerNorm"));
  exports.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("meanPool", Napi::Function::New(env, MeanPool, "meanPool"));
  exports.Set("embeddingLayerNorm", Napi::Function::New(env, EmbeddingLayerNorm, "embeddingLayerNorm"));
  exports.Set("firstRowAttention", Napi::Function::New(env, FirstRowAttention, "firstRowAttention"));
  exports.Set("naiveFirstRowAttention", Napi::Function::New(env, NaiveFirstRowAttention, "naiveFirstRowAttention"));
  exports.Set("activate", Napi::Function::New(env, Activate, "activate"));
  exports.Set("peak", Napi::Function::New(env, Peak, "peak"));
  exports.Set("profile", Napi::Function::New(env, Profile, "profile"));
  exports.Set("profileReset", Napi::Function::New(env, ProfileReset, "profileReset"));
  exports.Set("naiveLinear", Napi::Function::New(env, NaiveLinear, "naiveLinear"));
  exports.Set("naiveLinearLowp", Napi::Function::New(env, NaiveLinearLowp, "naiveLinearLowp"));
  exports.Set("naiveAddLayerNorm", Napi::Function::New(env, NaiveAddLayerNorm, "naiveAddLayerNorm"));
  exports.Set("exportPacked", Napi::Function::New(env, ExportPacked, "exportPacked"));
  exports.Set("importPacked", Napi::Function::New(env, ImportPacked, "importPacked"));
  exports.Set("importPackedFile", Napi::Function::New(env, ImportPackedFile, "importPackedFile"));
  exports.Set("xxh64", Napi::Function::New(env, Xxh64, "xxh64"));
  exports.Set("halfToFloat32", Napi::Function::New(env, HalfToFloat32, "halfToFloat32"));
  exports.Set("naiveAttention", Napi::Function::New(env, NaiveAttention, "naiveAttention"));
  exports.Set("mapFile", Napi::Function::New(env, bt_napi::MapFile, "mapFile"));
  exports.Set("hugePageBuffer", Napi::Function::New(env, bt_napi::HugePageBuffer, "hugePageBuffer"));
  exports.Set("WordPieceTable", bt_napi::DefineWordPieceTable(env));
  if (bt_napi::js_numbers_available()) {
    exports.Set("jsonNumbersInto", Napi::Function::New(env, bt_napi::JsonNumbersInto, "jsonNumbersInto"));
    exports.Set("jsonNumberRowsInto", Napi::Function::New(env, bt_napi::JsonNumberRowsInto, "jsonNumberRowsInto"));
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(bert_ts_native, Init)

#include "json_numbers.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <charconv>
#include <vector>

#include "../kernels/thread_pool.h"

#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
#define BT_HAVE_FLOAT_TO_CHARS 1
#else
#define BT_HAVE_FLOAT_TO_CHARS 0
#endif

namespace bt_napi {

bool js_numbers_available() { return BT_HAVE_FLOAT_TO_CHARS != 0; }

size_t format_js_number(double x, char* out) {
  if (!isfinite(x)) {
    memcpy(out, "null", 4);
    return 4;
  }
  if (x == 0) {
    out[0] = '0';
    return 1;
  }
  char* p = out;
  if (x < 0) {
    *p++ = '-';
    x = -x;
  }
#if BT_HAVE_FLOAT_TO_CHARS
  // Shortest digits that read back as x, the closest such (ties to even): the digits ECMAScript's
  // Number::toString picks. to_chars' scientific form gives them with their exponent.
  char sci[40];
  const std::to_chars_result r = std::to_chars(sci, sci + sizeof sci, x, std::chars_format::scientific);
  // sci is "d[.ddd]e±XX": the digits are sci[0] and sci[2..e), the exponent follows 'e'. Read in
  // place (no copy of the digits, no atoi: together ~1/4 of the number's time before).
  const char* e = r.ptr - 3;  // the exponent has at least two digits
  while (*e != 'e') e--;
  const char* frac = sci + 2;  // the digits after the first (none when sci[1] is 'e')
  const int k = e == sci + 1 ? 1 : (int)(e - frac) + 1;
  int e10 = 0;
  for (const char* q = e + 2; q < r.ptr; q++) e10 = e10 * 10 + (*q - '0');
  if (e[1] == '-') e10 = -e10;
  const int n = e10 + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    *p++ = sci[0];
    memcpy(p, frac, k - 1);
    p += k - 1;
    for (int i = k; i < n; i++) *p++ = '0';
  } else if (0 < n && n <= 21) {
    *p++ = sci[0];
    memcpy(p, frac, n - 1);
    p += n - 1;
    *p++ = '.';
    memcpy(p, frac + n - 1, k - n);
    p += k - n;
  } else if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -n; i++) *p++ = '0';
    *p++ = sci[0];
    memcpy(p, frac, k - 1);
    p += k - 1;
  } else {
    *p++ = sci[0];
    if (k > 1) {
      *p++ = '.';
      memcpy(p, frac, k - 1);
      p += k - 1;
    }
    *p++ = 'e';
    *p++ = n - 1 >= 0 ? '+' : '-';
    int ex = n - 1 >= 0 ? n - 1 : 1 - n;
    char rev[8];
    int m = 0;
    do {
      rev[m++] = (char)('0' + ex % 10);
      ex /= 10;
    } while (ex > 0);
    while (m > 0) *p++ = rev[--m];
  }
#endif
  return (size_t)(p - out);
}

namespace {

// "v0,v1,..." of n values at p; returns the end.
char* write_numbers(const float* x, size_t n, char* p) {
  for (size_t i = 0; i < n; i++) {
    if (i > 0) *p++ = ',';
    p += format_js_number((double)x[i], p);
  }
  return p;
}

bool is_typed_array(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

}  // namespace

// jsonNumbersInto(values: Float32Array, target: Uint8Array, offset) -> the offset after the last
// byte written: the numbers comma-separated, as ASCII bytes straight into an output chunk. Throws a
// RangeError unless target has 33 bytes per value from offset (the longest number is 24).
Napi::Value JsonNumbersInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!js_numbers_available()) throw Napi::Error::New(env, "jsonNumbersInto needs std::to_chars for double (GCC 11+)");
  Napi::Value v = info[0];
  if (!is_typed_array(v, napi_float32_array))
    throw Napi::TypeError::New(env, "Expected a Float32Array for jsonNumbersInto");
  Napi::Value t = info[1];
  if (!is_typed_array(t, napi_uint8_array))
    throw Napi::TypeError::New(env, "Expected a Uint8Array target for jsonNumbersInto");
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "Expected a byte offset for jsonNumbersInto");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  Napi::Uint8Array target = t.As<Napi::Uint8Array>();
  const double at = info[2].As<Napi::Number>().DoubleValue();
  const size_t n = a.ElementLength();
  if (!(at >= 0) || at != (double)(size_t)at || (size_t)at > target.ElementLength() ||
      target.ElementLength() - (size_t)at < n * 33)
    throw Napi::RangeError::New(env, "jsonNumbersInto: the target needs 33 bytes per value from the offset");
  const float* x = a.Data();
  char* const start = reinterpret_cast<char*>(target.Data()) + (size_t)at;
  return Napi::Number::New(env, at + (double)(write_numbers(x, n, start) - start));
}

namespace {

struct RowsJob {
  std::vector<const float*> rows;
  std::vector<size_t> lengths;
  std::vector<size_t> slots;  // byte offset of each row's slot in the target
  char* target;
  uint32_t* ends;
};

void format_row(void* ctx, int t) {
  RowsJob* job = static_cast<RowsJob*>(ctx);
  char* start = job->target + job->slots[t];
  job->ends[t] = (uint32_t)(write_numbers(job->rows[t], job->lengths[t], start) - job->target);
}

}  // namespace

// jsonNumberRowsInto(rows: Float32Array[], target: Uint8Array, ends: Uint32Array) -> undefined: row r's
// numbers, as jsonNumbersInto writes them, from byte 33 * (values of the rows before r) of target to
// ends[r]. The rows are formatted on the thread pool (the caller's thread and the workers): the embed
// command's output of a chunk of texts, while the pool would otherwise wait for the next batch.
Napi::Value JsonNumberRowsInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!js_numbers_available()) throw Napi::Error::New(env, "jsonNumberRowsInto needs std::to_chars for double (GCC 11+)");
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "Expected an array of Float32Array rows for jsonNumberRowsInto");
  Napi::Value t = info[1];
  if (!is_typed_array(t, napi_uint8_array))
    throw Napi::TypeError::New(env, "Expected a Uint8Array target for jsonNumberRowsInto");
  Napi::Value e = info[2];
  if (!is_typed_array(e, napi_uint32_array))
    throw Napi::TypeError::New(env, "Expected a Uint32Array of row ends for jsonNumberRowsInto");
  Napi::Array list = info[0].As<Napi::Array>();
  Napi::Uint8Array target = t.As<Napi::Uint8Array>();
  Napi::Uint32Array ends = e.As<Napi::Uint32Array>();
  const uint32_t n = list.Length();
  if (ends.ElementLength() < n) throw Napi::RangeError::New(env, "jsonNumberRowsInto: fewer row ends than rows");
  RowsJob job;
  job.rows.resize(n);
  job.lengths.resize(n);
  job.slots.resize(n);
  size_t at = 0;
  for (uint32_t r = 0; r < n; r++) {
    Napi::Value v = list.Get(r);
    if (!is_typed_array(v, napi_float32_array))
      throw Napi::TypeError::New(env, "Expected Float32Array rows for jsonNumberRowsInto");
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    job.rows[r] = a.Data();
    job.lengths[r] = a.ElementLength();
    job.slots[r] = at;
    at += 33 * a.ElementLength();
  }
  if (at > target.ElementLength() || at > 0xffffffffu)
    throw Napi::RangeError::New(env, "jsonNumberRowsInto: the target needs 33 bytes per value");
  job.target = reinterpret_cast<char*>(target.Data());
  job.ends = ends.Data();
  if (n == 1) format_row(&job, 0);
  else if (n > 1) bt::parallel_for((int)n, format_row, &job);
  return env.Undefined();
}

}  // namespace bt_napi

// mapFile(path, expectedBytes) -> ArrayBuffer | null: a whole file as an ArrayBuffer whose pages come
// from the page cache when first touched, so a weight table can be read in place (the embedding
// gather reads only the rows of its tokens, and nothing is copied or converted in JS). The mapping
// is private and writable: a write (a user poking the table) copies that page instead of faulting,
// and never reaches the file. null where files cannot be mapped, or when the file's size is not
// expectedBytes (it changed since the caller read its header); the caller then reads the file instead.
#include "mapped_view.h"
#include "packed_file.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define BT_VIEW_MMAP 1
#else
#define BT_VIEW_MMAP 0
#endif

#include <string>

namespace bt_napi {

// An external ArrayBuffer over data, finalize(hint) called when it is collected; nullptr where the
// runtime refuses external buffers (napi_no_external_buffers_allowed), with the exception that
// refusal leaves pending cleared. The caller then releases data itself and falls back.
static napi_value external_buffer(napi_env env, void* data, size_t bytes, napi_finalize finalize, void* hint) {
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, data, bytes, finalize, hint, &buffer) == napi_ok) return buffer;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  return nullptr;
}

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "Expected a file path for mapFile");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "Expected the expected byte size for mapFile");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const double expected = info[1].As<Napi::Number>().DoubleValue();
#if BT_VIEW_MMAP
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return env.Null();
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (double)st.st_size != expected) {
    close(fd);
    return env.Null();
  }
  const size_t size = (size_t)st.st_size;
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return env.Null();
  napi_value buffer = external_buffer(
      env, m, size, [](napi_env, void* data, void* hint) { munmap(data, (size_t)(uintptr_t)hint); }, (void*)(uintptr_t)size);
  if (!buffer) {  // read the file instead
    munmap(m, size);
    return env.Null();
  }
  return Napi::Value(env, buffer);
#else
  (void)path;
  (void)expected;
  return env.Null();
#endif
}

// hugePageBuffer(bytes) -> ArrayBuffer | null: zeroed memory on transparent huge pages for the
// model's activation buffers (written whole by every batch). Fresh 4 KB pages cost ~10-15 us each
// to fault in on this kind of VM: the first batches of an `embed` spent ~3,000 faults (~40 ms) on
// MiniLM's few MB of scratch. null where the OS offers no huge pages or the runtime refuses
// external buffers; the caller then allocates a plain ArrayBuffer.
Napi::Value HugePageBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "Expected a byte length for hugePageBuffer");
  const double want = info[0].As<Napi::Number>().DoubleValue();
  if (!(want >= 1) || want > 9007199254740991.0 || want != (double)(size_t)want) throw Napi::RangeError::New(env, "Expected a positive integer byte length for hugePageBuffer");
  size_t length = 0;
  void* p = bt::alloc_huge((size_t)want, &length);
  if (!p) return env.Null();
  napi_value buffer = external_buffer(
      env, p, (size_t)want, [](napi_env, void* data, void* hint) { bt::free_huge(data, (size_t)(uintptr_t)hint); },
      (void*)(uintptr_t)length);
  if (!buffer) {
    bt::free_huge(p, length);
    return env.Null();
  }
  return Napi::Value(env, buffer);
}

}  // namespace bt_napi

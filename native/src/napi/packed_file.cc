#include "packed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define BT_FILE_MMAP 1
#else
#define BT_FILE_MMAP 0
#endif

namespace bt {

namespace {
constexpr uint64_t P1 = 11400714785074694791ULL;
constexpr uint64_t P2 = 14029467366897019727ULL;
constexpr uint64_t P3 = 1609587929392839161ULL;
constexpr uint64_t P4 = 9650029242287828579ULL;
constexpr uint64_t P5 = 2870177450012600261ULL;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t read64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;  // xxHash reads little-endian; every platform bert-ts builds for is
}
inline uint32_t read32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
inline uint64_t round64(uint64_t acc, uint64_t input) { return rotl(acc + input * P2, 31) * P1; }
inline uint64_t merge64(uint64_t acc, uint64_t val) { return (acc ^ round64(0, val)) * P1 + P4; }
}  // namespace

uint64_t xxh64(const void* data, size_t len, uint64_t seed) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  const uint8_t* const end = p + len;
  uint64_t h;
  if (len >= 32) {
    uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    for (const uint8_t* limit = end - 32; p <= limit; p += 32) {
      v1 = round64(v1, read64(p));
      v2 = round64(v2, read64(p + 8));
      v3 = round64(v3, read64(p + 16));
      v4 = round64(v4, read64(p + 24));
    }
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge64(merge64(merge64(merge64(h, v1), v2), v3), v4);
  } else {
    h = seed + P5;
  }
  h += (uint64_t)len;
  for (; p + 8 <= end; p += 8) h = rotl(h ^ round64(0, read64(p)), 27) * P1 + P4;
  if (p + 4 <= end) {
    h = rotl(h ^ ((uint64_t)read32(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; p++) h = rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

bool map_file(const char* path, MappedFile* out) {
  *out = MappedFile{};
#if BT_FILE_MMAP
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return close(fd), false;
  out->size = (size_t)st.st_size;
  if (out->size == 0) return close(fd), true;
#if defined(MAP_POPULATE)
  const int flags = MAP_PRIVATE | MAP_POPULATE;  // every byte is read at once (checksum, then copy)
#else
  const int flags = MAP_PRIVATE;
#endif
  void* m = mmap(nullptr, out->size, PROT_READ, flags, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return *out = MappedFile{}, false;
  out->data = static_cast<const uint8_t*>(m);
  out->mapped = true;
  return true;
#else
  FILE* f = fopen(path, "rb");
  if (!f) return false;
  if (fseek(f, 0, SEEK_END) != 0) return fclose(f), false;
  const long size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) return fclose(f), false;
  uint8_t* buf = static_cast<uint8_t*>(malloc(size > 0 ? (size_t)size : 1));
  if (!buf) return fclose(f), false;
  const size_t got = fread(buf, 1, (size_t)size, f);
  fclose(f);
  if (got != (size_t)size) return free(buf), false;
  out->data = buf;
  out->size = (size_t)size;
  return true;
#endif
}

void unmap_file(MappedFile* f) {
  if (!f->data) return;
#if BT_FILE_MMAP
  if (f->mapped) munmap(const_cast<uint8_t*>(f->data), f->size);
  else free(const_cast<uint8_t*>(f->data));
#else
  free(const_cast<uint8_t*>(f->data));
#endif
  *f = MappedFile{};
}

}  // namespace bt

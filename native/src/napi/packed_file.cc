#include "packed_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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

#if BT_FILE_MMAP && defined(__linux__) && defined(MADV_HUGEPAGE)
namespace {
constexpr size_t kHugePage = (size_t)2 << 20;

// Whether madvise(MADV_HUGEPAGE) can give this process transparent huge pages ("always" or
// "madvise" in /sys/kernel/mm/transparent_hugepage/enabled).
bool huge_pages_offered() {
  static const bool offered = [] {
    FILE* f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char line[128] = {0};
    const bool read = fgets(line, sizeof line, f) != nullptr;
    fclose(f);
    return read && (strstr(line, "[always]") != nullptr || strstr(line, "[madvise]") != nullptr);
  }();
  return offered;
}

// `length` bytes (a multiple of 2 MB) of anonymous memory at a 2 MB-aligned address: more is
// reserved and the unaligned ends given back, so the kernel can back all of it with huge pages (or
// map a file's 2 MB folios over it whole). Null when the reservation fails.
uint8_t* reserve_huge_aligned(size_t length, int prot, int extra_flags) {
  void* raw = mmap(nullptr, length + kHugePage, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  uint8_t* const start = reinterpret_cast<uint8_t*>(raw);
  uint8_t* const base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(start) + kHugePage - 1) & ~(uintptr_t)(kHugePage - 1));
  if (base > start) munmap(start, (size_t)(base - start));
  const size_t tail = (size_t)(start + length + kHugePage - (base + length));
  if (tail > 0) munmap(base + length, tail);
  return base;
}
}  // namespace

void* alloc_huge(size_t bytes, size_t* map_length) {
  if (bytes == 0 || !huge_pages_offered()) return nullptr;
  const size_t length = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  uint8_t* const base = reserve_huge_aligned(length, PROT_READ | PROT_WRITE, 0);
  if (!base) return nullptr;
  if (madvise(base, length, MADV_HUGEPAGE) != 0) return munmap(base, length), nullptr;
  *map_length = length;
  return base;
}

namespace {
// The file's bytes in anonymous memory on 2 MB pages. Why not map the file: the first touch of each
// 4 KB page of a mapping costs a fault or a TLB fill, and under virtualisation (nested paging, some
// hypervisors) that is 3-15 us per page: ~40 ms for a 43 MB float32 MiniLM, against ~15 ms to read it
// into 21 huge pages (measured on the 2-core EPYC VM this was written on). False (nothing kept) when
// any step fails; the caller then maps the file.
bool read_into_huge_pages(int fd, size_t size, MappedFile* out) {
  size_t length = 0;
  uint8_t* const base = static_cast<uint8_t*>(alloc_huge(size, &length));
  if (!base) return false;
  size_t got = 0;
  while (got < size) {
    const ssize_t n = pread(fd, base + got, size - got, (off_t)got);
    if (n <= 0) return munmap(base, length), false;
    got += (size_t)n;
  }
  mprotect(base, length, PROT_READ);  // read-only from here on, like a mapping of the file
  out->data = base;
  out->size = size;
  out->mapped = true;
  out->map_length = length;
  return true;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels refuse it (EINVAL) and the file is read instead
#endif

long thread_page_faults() {
  struct rusage u;
  return getrusage(RUSAGE_THREAD, &u) == 0 ? u.ru_minflt + u.ru_majflt : -1;
}

// Maps the file at a 2 MB-aligned address and faults it all in with one call. true when the page
// cache holds the file in 2 MB folios, so that each was mapped whole (one fault per 2 MB, counted
// on this thread); else nothing stays mapped.
bool map_whole_folios(int fd, size_t size, size_t length, MappedFile* out) {
  uint8_t* const base = reserve_huge_aligned(length, PROT_NONE, MAP_NORESERVE);
  if (!base) return false;
  // The file over the reservation's start; the reservation's rest (up to 2 MB) stays inaccessible.
  if (mmap(base, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) return munmap(base, length), false;
  // VM_HUGEPAGE: pages the file has no cache for yet are read ahead into 2 MB folios.
  madvise(base, size, MADV_HUGEPAGE);
  const long before = thread_page_faults();
  if (madvise(base, size, MADV_POPULATE_READ) != 0) return munmap(base, length), false;
  const long faults = thread_page_faults() - before;
  // Whole folios: one fault per 2 MB, plus a few for the last partial one. Small folios: one per
  // 16-64 KB (fault-around), hundreds for a MiniLM.
  if (before < 0 || faults > (long)(size / kHugePage) + 8) return munmap(base, length), false;
  out->data = base;
  out->size = size;
  out->mapped = true;
  out->map_length = length;
  return true;
}

// The file's pages straight from the page cache, shared by every process that loads it, when the
// kernel keeps them in 2 MB folios (Linux 6.x for ext4/XFS, with transparent huge pages; a file
// written in one go, as the cache writes it, is cached that way): nothing is copied and no fresh
// memory is touched. Why that matters: on a VM whose host takes back freed memory (free page
// reporting, ballooning), the first touch of fresh memory traps to the host; a private 43 MB copy
// cost 6 ms on a good run and ~100 ms on a bad one, the mapping ~0.3 ms.
// A file cached in small folios (read with read() after the cache was dropped, or copied) is
// written back if it is dirty (DONTNEED only starts writeback and keeps pages still under it, so the
// remap of a file written a moment ago, a copy or a fresh cache file, could fail by its timing),
// dropped from the cache and mapped again, which reads it back in 2 MB folios for later loads. An
// extended attribute on the file records how that went: "ok" lets a later load do it again (the
// kernel and file system can, so it recurs only when something else read the file back in small
// folios); a failure is counted ("n1", "n2"; "no" from older builds counts as one) and a later load
// tries again until kMaxRefolioFailures attempts have failed (older kernels, other file systems,
// pages another process held each time): one failed attempt, e.g. the pages of a process that was
// still mapping it, no longer keeps the file on the copying path for good. Where the attribute
// cannot be set (no xattr support, a read-only cache) nothing is dropped: an attempt that cannot be
// recorded could repeat on every load.
constexpr int kMaxRefolioFailures = 3;

bool map_from_page_cache(int fd, size_t size, MappedFile* out) {
  const char* mode = getenv("BERT_TS_PACKED_FILE");
  if (mode && strcmp(mode, "read") == 0) return false;
  const size_t length = (size + kHugePage - 1) / kHugePage * kHugePage;
  if (map_whole_folios(fd, size, length, out)) return true;
  static const char kName[] = "user.bert-ts.refolio";
  char before[2] = {0, 0};
  const ssize_t got = fgetxattr(fd, kName, before, sizeof before);
  const bool proven = got == 2 && memcmp(before, "ok", 2) == 0;
  int failures = 0;
  if (got == 2 && memcmp(before, "no", 2) == 0) failures = 1;
  else if (got == 2 && before[0] == 'n' && before[1] >= '1' && before[1] <= '9') failures = before[1] - '0';
  if (failures >= kMaxRefolioFailures) return false;
  // Counted as failed first: if this process dies half-way, a later load does not repeat it blindly.
  const char counted[2] = {'n', (char)('1' + failures)};
  if (!proven && fsetxattr(fd, kName, counted, 2, 0) != 0) return false;
  // Pages another process maps stay in the cache: then this load reads the file.
  const bool mapped = fdatasync(fd) == 0 && posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 && map_whole_folios(fd, size, length, out);
  if (mapped != proven) fsetxattr(fd, kName, mapped ? "ok" : counted, 2, 0);
  return mapped;
}
}  // namespace
#else
void* alloc_huge(size_t, size_t*) { return nullptr; }
#endif

void free_huge(void* p, size_t map_length) {
#if BT_FILE_MMAP
  if (p) munmap(p, map_length);
#else
  (void)p;
  (void)map_length;
#endif
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
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (out->size >= kHugePage && huge_pages_offered() && map_from_page_cache(fd, out->size, out)) return close(fd), true;
  if (out->size >= kHugePage && read_into_huge_pages(fd, out->size, out)) return close(fd), true;
#endif
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
  out->map_length = out->size;
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
  if (f->map_length > 0) munmap(const_cast<uint8_t*>(f->data), f->map_length);
  else free(const_cast<uint8_t*>(f->data));
#else
  free(const_cast<uint8_t*>(f->data));
#endif
  *f = MappedFile{};
}

}  // namespace bt

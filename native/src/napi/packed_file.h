// Reading the packed-weight cache file (src/io/packed-weight-cache.ts) without copying it into the
// JS heap first: the file is mapped, its checksum verified, and each layer imported (copied into
// the kernels' own aligned memory) straight from the mapping. Plain C++, no N-API types.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace bt {

// XXH64 (xxHash's 64-bit hash), the cache file's checksum: it runs at memory speed, where sha256
// would add ~20 ms per 40 MB of float32 weights to every load.
uint64_t xxh64(const void* data, size_t len, uint64_t seed = 0);

// A whole file, read-only, at a stable address until unmap_file: on Linux with transparent huge pages
// mapped from the page cache when the kernel holds the file in 2 MB folios (after dropping it from
// the cache once per file, so that it is read back that way), else read into 2 MB pages of its own
// (BERT_TS_PACKED_FILE=read forces that); without them mapped (4 KB pages shared with the page
// cache); else read into memory. `mapped`: the memory is page-aligned and lives as long as the MappedFile (layers may be
// read in place).
struct MappedFile {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool mapped = false;
  // Length of the mapping to release (0: data came from malloc).
  size_t map_length = 0;
};
// false when the file cannot be opened or read.
bool map_file(const char* path, MappedFile* out);
void unmap_file(MappedFile* f);

// Zeroed anonymous memory on transparent huge pages (2 MB-aligned, madvise(MADV_HUGEPAGE)), for
// buffers written in full soon after (activations): a fresh 4 KB page costs ~10-15 us to fault in on
// a VM with nested paging, a 2 MB page about what 8 small ones do. nullptr where the OS offers no
// transparent huge pages (then the caller allocates as usual); else *map_length is what free_huge takes.
void* alloc_huge(size_t bytes, size_t* map_length);
void free_huge(void* p, size_t map_length);

}  // namespace bt

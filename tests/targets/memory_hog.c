/* libFuzzer / AFL++ harness that takes memory past any sensible limit on inputs starting with 'M' (the fuzzers find that
 * byte at once; the seeds do not have it, so afl-fuzz gets past its dry run). It aborts when it got the whole GiB
 * (nothing bounded its memory); a memory cgroup kills it on the way, whatever the machine's speed:
 * - Built with libFuzzer, it writes 1 GiB into a memfd, 1 MiB at a time. Those pages are charged to the memory cgroup
 *   but never mapped, so they are not in the RSS that libFuzzer's once-a-second check reads: that check cannot report an
 *   ordinary OOM first, however slowly the target climbs past the job's limit.
 * - Built with afl-clang-fast (afl-fuzz has no memory check of its own with ASan), it touches 1 GiB in 16 MiB mmap
 *   chunks: the pages are in the target's RSS, so the cgroup's OOM killer picks the target, not afl-fuzz, and afl-fuzz
 *   saves the input as a crash. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define TOTAL_MIB 1024

#ifdef __AFL_COMPILER
#define CHUNK_MIB 16
static int take(int *got_mib) {
  void *chunks[TOTAL_MIB / CHUNK_MIB];
  int got = 0;
  for (; got < TOTAL_MIB / CHUNK_MIB; got++) {
    chunks[got] = mmap(NULL, CHUNK_MIB * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (chunks[got] == MAP_FAILED)
      break;
    memset(chunks[got], 0x41, CHUNK_MIB * MIB);
  }
  *got_mib = got * CHUNK_MIB;
  for (int i = 0; i < got; i++)
    munmap(chunks[i], CHUNK_MIB * MIB);
  return *got_mib == TOTAL_MIB;
}
#else
static char chunk[MIB];
static int take(int *got_mib) {
  *got_mib = 0;
  int fd = memfd_create("memory_hog", 0);
  if (fd < 0)
    return 0;
  memset(chunk, 0x41, MIB);
  while (*got_mib < TOTAL_MIB && write(fd, chunk, MIB) == (ssize_t)MIB)
    ++*got_mib;
  close(fd);
  return *got_mib == TOTAL_MIB;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || data[0] != 'M')
    return 0;
  int got_mib;
  if (take(&got_mib)) {
    fprintf(stderr, "memory_hog: took %d MiB: nothing bounds the memory\n", got_mib);
    abort();
  }
  fprintf(stderr, "memory_hog: took only %d MiB\n", got_mib);
  return 0;
}

/* libFuzzer harness that allocates past any sensible memory limit on inputs starting with 'M' (the fuzzers find that
 * byte at once; the seeds do not have it, so afl-fuzz gets past its dry run): 1 GiB in 16 MiB mmap chunks, each touched
 * at once, faster than libFuzzer's once-a-second RSS check and outside its malloc hooks (afl-fuzz has no check at all
 * with ASan). It aborts when it got the whole GiB (nothing bounded its memory); a memory cgroup kills it on the way. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK ((size_t)16 << 20)
#define CHUNKS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || data[0] != 'M')
    return 0;
  void *chunks[CHUNKS];
  int got = 0;
  for (; got < CHUNKS; got++) {
    chunks[got] = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (chunks[got] == MAP_FAILED)
      break;
    memset(chunks[got], 0x41, CHUNK);
  }
  if (got == CHUNKS) {
    fprintf(stderr, "memory_hog: touched %d MiB: nothing bounds the memory\n", (int)(CHUNKS * (CHUNK >> 20)));
    abort();
  }
  for (int i = 0; i < got; i++)
    munmap(chunks[i], CHUNK);
  return 0;
}

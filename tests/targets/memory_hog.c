/* libFuzzer harness that allocates past any sensible memory limit on its first input: 1 GiB in 16 MiB mmap chunks,
 * each touched at once, faster than libFuzzer's once-a-second RSS check and outside its malloc hooks. It aborts when it
 * got the whole GiB (nothing bounded its memory); a memory cgroup kills it on the way. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK ((size_t)16 << 20)
#define CHUNKS 64

static int done;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  if (done)
    return 0;
  done = 1;
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

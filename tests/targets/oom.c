/* libFuzzer harness that holds 128 MB on input starting with "OOM": an out-of-memory target.
 * -rss_limit_mb=64 trips the RSS watchdog; -malloc_limit_mb=1 trips the per-malloc limit. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK ((size_t)2 << 20)
#define CHUNKS 64

/* Keeps -O1 from deleting the allocations. */
static void *volatile sink[CHUNKS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 3 && data[0] == 'O' && data[1] == 'O' && data[2] == 'M') {
    for (int i = 0; i < CHUNKS; i++) {
      sink[i] = malloc(CHUNK);
      if (sink[i] != NULL)
        memset(sink[i], 0x41, CHUNK); /* touch the pages so the RSS really grows */
    }
    sleep(3); /* libFuzzer's RSS thread checks once a second */
    for (int i = 0; i < CHUNKS; i++)
      free(sink[i]);
  }
  return 0;
}

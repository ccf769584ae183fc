/* libFuzzer harness with two distinct bugs behind the prefix "BUG" (the dictionary kw="BUG" finds it in seconds);
 * the fourth byte picks the bug, so a fuzzer hits both about equally:
 *   BUG + odd byte   heap-buffer-overflow WRITE 1 in overflow_name  (many inputs, one bug)
 *   BUG + even byte  heap-use-after-free READ 1 in use_stale_header
 * so a campaign must report exactly two unique crashes, however many crashing inputs it finds.
 * Built with -DFIX_OVERFLOW, the overflow is fixed and only the use-after-free is left (a later build of a target).
 * Built with -DNEW_BUG, a third bug comes in: any input not starting with 'B' reads past a stack array in read_trailer
 * (what a CI gate on that build must call new); nearly every input hits it, so a few seconds of fuzzing find it however
 * often the known bugs crash first. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static volatile int sink;

NOINLINE static void overflow_name(const uint8_t *data, size_t size) {
  char *volatile name = malloc(8); /* volatile: -O1 would drop a store to memory freed right after */
  memset(name, 'n', 8);
#ifdef FIX_OVERFLOW
  name[7] = (char)data[0]; /* the fixed build: the last byte, in bounds */
  (void)size;
#else
  name[8 + (size > 64)] = (char)data[0]; /* one or two past the end */
#endif
  sink = name[0];
  free(name);
}

NOINLINE static int use_stale_header(const uint8_t *data, size_t size) {
  char *header = malloc(16);
  memcpy(header, data, size < 16 ? size : 16);
  free(header);
  return header[1]; /* read after free */
}

#ifdef NEW_BUG
NOINLINE static int read_trailer(const uint8_t *data, size_t size) {
  char trailer[4];
  memcpy(trailer, data, size < 4 ? size : 4);
  volatile size_t end = 4; /* volatile: one past the end, whatever the input */
  return trailer[end];
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
#ifdef NEW_BUG
  if (size >= 1 && data[0] != 'B') {
    sink = read_trailer(data, size);
  }
#endif
  if (size >= 4 && data[0] == 'B' && data[1] == 'U' && data[2] == 'G') {
    if (data[3] & 1) {
      overflow_name(data, size);
    } else {
      sink = use_stale_header(data, size);
    }
  }
  return 0;
}

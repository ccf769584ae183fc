/* libFuzzer harness with four known bugs of different kinds and depths: the small second target of the `bugs`
 * benchmark. Each bug sits in its own NOINLINE function at exactly one source line, reachable in one way only.
 * Build: clang -g -O1 -fno-optimize-sibling-calls -fsanitize=fuzzer,address bug_pair.c -o bug_pair
 *
 *   prefix  type as reported                                  function:line            security
 *   RD      heap-buffer-overflow READ of size 1               peek_header:28           yes
 *   ABT     libFuzzer: deadly signal (abort)                  give_up:34               no
 *   FREE    heap-use-after-free WRITE of size 4               stamp_released:41        yes
 *   P4NDA!  global-buffer-overflow WRITE of size 1            fill_banner:46           yes
 *
 * Depth: RD (2 bytes) and ABT (3 bytes) are compared byte by byte, so coverage alone climbs them; FREE is one memcmp;
 * P4NDA! is one 48-bit integer compare: coverage gives no step toward it, so it needs the dictionary (bug_pair.dict),
 * value profile (-use_value_profile=1) or libFuzzer's compare-operand table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* Keep -O1 from deleting reads, writes and allocations. */
static volatile int sink;
static char banner[16];

NOINLINE static int peek_header(const uint8_t *data, size_t size) {
  char *header = malloc(16);
  memset(header, 'h', 16);
  int value = header[16 + (size > 2 ? data[2] % 8 : 0)]; /* RD: one to eight past the end */
  free(header);
  return value;
}

NOINLINE static void give_up(void) {
  abort(); /* ABT */
}

NOINLINE static void stamp_released(size_t size) {
  int *volatile stamp = malloc(4 * sizeof(int)); /* volatile: -O1 would drop the dead store */
  stamp[0] = 0;
  free(stamp);
  stamp[size % 4] = (int)size; /* FREE: write after free */
}

NOINLINE static void fill_banner(const uint8_t *data, size_t size) {
  char *volatile cursor = banner;
  cursor[16 + (size > 6 ? data[6] % 8 : 0)] = '!'; /* P4NDA!: one to eight past the end of a global */
  sink = banner[0];
}

NOINLINE static uint64_t first_six_bytes(const uint8_t *data) {
  uint64_t word = 0;
  for (int i = 0; i < 6; i++) {
    word |= (uint64_t)data[i] << (8 * i);
  }
  return word;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 2 && data[0] == 'R' && data[1] == 'D') {
    sink = peek_header(data, size);
  } else if (size >= 3 && data[0] == 'A' && data[1] == 'B' && data[2] == 'T') {
    give_up();
  } else if (size >= 4 && memcmp(data, "FREE", 4) == 0) {
    stamp_released(size);
  } else if (size >= 6 && first_six_bytes(data) == 0x2141444e3450ULL) { /* "P4NDA!" little-endian */
    fill_banner(data, size);
  }
  return 0;
}

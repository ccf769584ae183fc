/* libFuzzer harness with eight known bugs (the `bugs` benchmark and the bug-finding tests). Each bug sits in its own
 * NOINLINE function at exactly one source line and is reachable in exactly one way: the input must start with its
 * magic prefix (dictionary bug_farm.dict), and no prefix is a prefix of another.
 * Build: clang -g -O1 -fno-optimize-sibling-calls -fsanitize=fuzzer,address bug_farm.c -o bug_farm
 *
 *   prefix  type as reported                                    function:line               security
 *   HB      heap-buffer-overflow WRITE of size N (memcpy,       copy_into_slot:46           yes
 *           N = third input byte > 8: the size varies, one bug;
 *           frame #0 is __asan_memcpy, #1 the function)
 *   SBUF    stack-buffer-overflow WRITE of size 1               fill_stack_slot:54          yes
 *   UAF!    heap-use-after-free READ of size 1                  read_after_release:62       yes
 *   ND      SEGV on unknown address 0x000000000004, READ        read_missing_entry:67       no (null deref)
 *           ("Hint: address points to the zero page")
 *   DFRE    attempting double-free                              release_twice:74            yes
 *   LK      LeakSanitizer: detected memory leaks, 64 bytes      lose_block:78               no (leak)
 *           (allocated at that line; libFuzzer writes leak-)
 *   TO      libFuzzer: timeout (endless loop, -timeout=1)       spin_forever:85             no (timeout)
 *   FLKY    SEGV on unknown address 0x000000000000, WRITE       crash_on_second_visit:95    no (null deref)
 *           only from the second FLKY input one process runs:
 *           rerunning the crash alone (`bug_farm crash-...`,
 *           -runs=1) never crashes; -runs=2 does.
 *
 * Depth: HB, ND, LK, TO need 2 magic bytes, SBUF, UAF!, DFRE, FLKY need 4; all compared byte by byte, so each byte is a
 * coverage step. Measured in tests/targets/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

struct entry {
  int key;
  int value;
};

/* Keep -O1 from deleting reads, writes and allocations. */
static volatile int sink;
static void *volatile keep;
static struct entry *volatile table[4]; /* every slot empty (null) */
static int flaky_visits;                 /* FLKY inputs seen by this process */
static const char filler[256] = "HB filler"; /* source of the HB copy: any length byte stays inside it */

NOINLINE static void copy_into_slot(const uint8_t *data, size_t size) {
  char *slot = malloc(8);
  memcpy(slot, filler, size > 2 ? data[2] : 0); /* HB: the third byte is the length; overflows when > 8 */
  sink = slot[0];
  free(slot);
}

NOINLINE static void fill_stack_slot(const uint8_t *data, size_t size) {
  char slot[8];
  char *volatile cursor = slot;
  cursor[8 + (size > 4 ? data[4] % 8 : 0)] = 's'; /* SBUF: one to eight past the end */
  sink = slot[0];
}

NOINLINE static int read_after_release(const uint8_t *data, size_t size) {
  char *block = malloc(16);
  memcpy(block, data, size < 16 ? size : 16);
  free(block);
  return block[size % 16]; /* UAF!: read after free */
}

NOINLINE static int read_missing_entry(const uint8_t *data, size_t size) {
  struct entry *found = table[size > 2 ? data[2] % 4 : 0];
  return found->value; /* ND: the lookup found nothing */
}

NOINLINE static void release_twice(void) {
  char *block = malloc(32);
  keep = block;
  free(block);
  free(keep); /* DFRE: second free */
}

NOINLINE static void lose_block(const uint8_t *data) {
  keep = malloc(64); /* LK: allocated here, lost on the next line */
  keep = NULL;
  sink = data[0];
}

NOINLINE static void spin_forever(void) {
  for (;;) {
    sink++; /* TO: never returns */
  }
}

NOINLINE static void crash_on_second_visit(void) {
  int *volatile target = &flaky_visits;
  if (flaky_visits > 0) {
    target = NULL;
  }
  flaky_visits++;
  *target = flaky_visits; /* FLKY: null write from the second FLKY input in the same process */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  if (data[0] == 'H' && data[1] == 'B') {
    copy_into_slot(data, size);
  } else if (data[0] == 'N' && data[1] == 'D') {
    sink = read_missing_entry(data, size);
  } else if (data[0] == 'L' && data[1] == 'K') {
    lose_block(data);
  } else if (data[0] == 'T' && data[1] == 'O') {
    spin_forever();
  } else if (size >= 4 && data[0] == 'S' && data[1] == 'B' && data[2] == 'U' && data[3] == 'F') {
    fill_stack_slot(data, size);
  } else if (size >= 4 && data[0] == 'U' && data[1] == 'A' && data[2] == 'F' && data[3] == '!') {
    sink = read_after_release(data, size);
  } else if (size >= 4 && data[0] == 'D' && data[1] == 'F' && data[2] == 'R' && data[3] == 'E') {
    release_twice();
  } else if (size >= 4 && data[0] == 'F' && data[1] == 'L' && data[2] == 'K' && data[3] == 'Y') {
    crash_on_second_visit();
  }
  return 0;
}

/* libFuzzer harness that dies on a signal: input "SEGV" reads a near-null pointer (ASan reports SEGV),
 * input "ABRT" calls abort() (libFuzzer reports a deadly signal). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Keeps -O1 from deleting the load. */
static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 5 && data[0] == 'S' && data[1] == 'E' && data[2] == 'G' && data[3] == 'V') {
    volatile int *p = (volatile int *)(uintptr_t)(data[4] & 0x0f); /* near-null */
    sink = *p;
  }
  if (size >= 4 && data[0] == 'A' && data[1] == 'B' && data[2] == 'R' && data[3] == 'T')
    abort();
  return 0;
}

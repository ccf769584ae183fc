/* libFuzzer harness that leaks a heap block on input starting with "LEAK": a LeakSanitizer target. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Keeps -O1 from deleting the allocation; overwritten each time, so the old block leaks. */
static void *volatile sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 4 && data[0] == 'L' && data[1] == 'E' && data[2] == 'A' && data[3] == 'K') {
    sink = malloc(64);
    sink = NULL;
  }
  return 0;
}

/* libFuzzer harness that frees a block twice on input starting with "FREE": ASan's ERROR line
 * ("attempting double-free") and its SUMMARY ("double-free") name the bug differently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Keeps -O1 from deleting the allocation. */
static void *volatile sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 4 && data[0] == 'F' && data[1] == 'R' && data[2] == 'E' && data[3] == 'E') {
    sink = malloc(16);
    free(sink);
    free(sink);
  }
  return 0;
}

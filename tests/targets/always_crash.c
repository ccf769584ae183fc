/* libFuzzer harness that aborts on every input, the empty one libFuzzer runs first included: each run finds the same
 * input, so each run writes the same artifact (crash-da39a3ee5e6b4b0d3255bfef95601890afd80709). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  abort();
}

/* Fuzz target of the bundle tests: libbundle.so's bundle_check, linked against the library. */
#include <stddef.h>
#include <stdint.h>

int bundle_check(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bundle_check(data, size);
  return 0;
}

/* Fuzz target of the bundle tests: libbundle.so's bundle_parse, linked against the library. */
#include <stddef.h>
#include <stdint.h>

int bundle_parse(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bundle_parse(data, size);
  return 0;
}

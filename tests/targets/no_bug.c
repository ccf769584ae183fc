/* libFuzzer harness that never crashes: for tests that need a fuzzer that keeps running. */
#include <stddef.h>
#include <stdint.h>

/* Keeps -O1 from deleting the loop. */
static volatile uint32_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; i++) {
    h ^= data[i];
    h *= 16777619u;
    /* A few branches so coverage grows for a while. */
    if (data[i] == 'P' && i + 1 < size && data[i + 1] == 'F')
      h ^= 0x5a5a5a5au;
  }
  sink = h;
  return 0;
}

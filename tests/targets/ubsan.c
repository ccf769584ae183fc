/* libFuzzer harness with undefined behaviour: input "UBSN" then a byte shifts an int by that many bits.
 * Build with -fsanitize=fuzzer,undefined -fno-sanitize-recover=undefined to make it fatal. */
#include <stddef.h>
#include <stdint.h>

/* Keeps -O1 from folding the shift away. */
static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 5 && data[0] == 'U' && data[1] == 'B' && data[2] == 'S' && data[3] == 'N') {
    int one = 1;
    sink = one << data[4]; /* undefined for shifts of 32 and more */
  }
  return 0;
}

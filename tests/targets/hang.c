/* libFuzzer harness that spins forever on input starting with "HANG": a timeout target (run with -timeout=1). */
#include <stddef.h>
#include <stdint.h>

/* Keeps -O1 from deleting the endless loop. */
static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 4 && data[0] == 'H' && data[1] == 'A' && data[2] == 'N' && data[3] == 'G') {
    for (;;)
      sink++;
  }
  return 0;
}

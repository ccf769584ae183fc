/* libFuzzer harness with a planted heap-buffer-overflow WRITE.
 * Input "FUZ" followed by a length byte n writes n bytes into an 8-byte heap
 * buffer; any n > 8 overflows it. libFuzzer finds it from an empty corpus in
 * well under a second (its CMP tracing solves the "FUZ" prefix). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keeps -O1 from deleting the buffer writes whose result is otherwise unused. */
static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4 || data[0] != 'F' || data[1] != 'U' || data[2] != 'Z')
    return 0;
  size_t n = data[3];
  uint8_t *buf = (uint8_t *)malloc(8);
  if (buf == NULL)
    return 0;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)i; /* planted bug: n is never checked against 8 */
  sink = buf[n > 0 ? n - 1 : 0];
  free(buf);
  return 0;
}

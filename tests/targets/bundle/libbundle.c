/* The shared library of the bundle tests (libbundle.so): two entry points the two fuzz targets call.
 * bundle_parse: input "BND" followed by a length byte n copies n bytes into an 8-byte heap buffer; any n > 8
 * overflows it (planted heap-buffer-overflow WRITE). bundle_check: input "CHK" followed by a record hands the
 * record to bundle_parse. Build with -fsanitize=fuzzer-no-link,address -fPIC -shared. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static volatile uint8_t sink;

int bundle_parse(const uint8_t *data, size_t size) {
  if (size < 4 || data[0] != 'B' || data[1] != 'N' || data[2] != 'D')
    return 0;
  size_t n = data[3];
  uint8_t *buf = (uint8_t *)malloc(8);
  if (buf == NULL)
    return 0;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)i; /* planted bug: n is never checked against 8 */
  sink = buf[n > 0 ? n - 1 : 0];
  free(buf);
  return 1;
}

int bundle_check(const uint8_t *data, size_t size) {
  if (size < 3 || data[0] != 'C' || data[1] != 'H' || data[2] != 'K')
    return 0;
  return bundle_parse(data + 3, size - 3);
}

/*
 * Benchmark harness for the first-crash benchmark: a planted heap-buffer-overflow WRITE behind a chain of STAGES
 * byte checks, each on a byte transformed by a bijection (so neither libFuzzer's comparison tracing nor AFL++'s
 * dictionary can lift the value from the compare: every stage is found by coverage-guided mutation, a new edge per
 * stage). The time to the crash is then a sum of STAGES similar waits: tens of seconds, spread little between seeds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifndef STAGES
#define STAGES 12
#endif

static volatile uint8_t sink;

static const uint8_t want[16] = {0x3a, 0xc5, 0x17, 0x88, 0xe2, 0x4f, 0x91, 0x2d, 0x6b, 0xf0, 0x05, 0xb7, 0x5c, 0x99, 0x21, 0xd4};

#ifndef WORK
#define WORK 2000
#endif

/* A fixed amount of work per input, so the target runs at a realistic speed (tens of thousands of inputs per second). */
static uint32_t work(const uint8_t *data, size_t size) {
  uint32_t h = 2166136261u;
  for (int r = 0; r < WORK; r++) h = (h ^ data[(size_t)r % size]) * 16777619u;
  return h;
}

static uint8_t mix(uint8_t b, int i) { return (uint8_t)(b * 167u + 13u * (unsigned)i + 101u); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  sink = (uint8_t)work(data, size);
  if (size < STAGES + 1) return 0;
#define STAGE(i) if (STAGES > i && mix(data[i], i) != want[i]) return 0;
  STAGE(0) STAGE(1) STAGE(2) STAGE(3) STAGE(4) STAGE(5) STAGE(6) STAGE(7)
  STAGE(8) STAGE(9) STAGE(10) STAGE(11) STAGE(12) STAGE(13) STAGE(14) STAGE(15)
  size_t n = data[STAGES];
  uint8_t *buf = (uint8_t *)malloc(8);
  if (buf == NULL) return 0;
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)i; /* planted bug: n is never checked against 8 */
  sink = buf[n > 0 ? n - 1 : 0];
  free(buf);
  return 0;
}

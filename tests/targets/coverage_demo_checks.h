/* The second source file of coverage_demo.c: functions a coverage report lists under this header's own path. */
#ifndef COVERAGE_DEMO_CHECKS_H
#define COVERAGE_DEMO_CHECKS_H

#include <stddef.h>
#include <stdint.h>

static int count_vowels(const uint8_t *data, size_t size) {
  int vowels = 0;
  for (size_t i = 0; i < size; i++) {
    switch (data[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u':
      vowels++;
      break;
    default:
      break;
    }
  }
  return vowels;
}

static int checksum_kind(const uint8_t *data, size_t size) {
  uint32_t sum = 0;
  for (size_t i = 0; i < size; i++)
    sum += data[i];
  if (sum % 3 == 0)
    return 10;
  if (sum % 3 == 1)
    return 11;
  return 12;
}

/* No seed reaches this: only fuzzing does, and a measurement counts it then. */
static int deep_check(const uint8_t *data, size_t size) {
  if (size >= 4 && data[1] == 'O' && data[2] == 'V')
    return data[3] == '!' ? 42 : 41;
  return 40;
}

#endif

/*
 * libFuzzer harness for the coverage report tests: a few functions and branches in two source files (this one and
 * coverage_demo_checks.h), never crashing. Seeds starting with 'A' or 'B' reach part of it; 'C' and the deep check
 * only fuzzing finds. Built twice by the tests: -fsanitize=fuzzer,address to fuzz, and
 * -fprofile-instr-generate -fcoverage-mapping -fsanitize=fuzzer for the coverage report.
 */
#include <stddef.h>
#include <stdint.h>

#include "coverage_demo_checks.h"

static volatile int sink;

static int classify(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  switch (data[0]) {
  case 'A':
    return checksum_kind(data, size);
  case 'B':
    return 20 + count_vowels(data, size);
  case 'C':
    return deep_check(data, size);
  default:
    return 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sink = classify(data, size);
  return 0;
}

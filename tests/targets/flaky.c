/* libFuzzer harness with a deliberately flaky crash: input "FLK" reaches a null-pointer write only on every third
 * execution, counted in the file flaky-count in the working directory (the bot's job dir), so across processes.
 * The fuzzer crashes on one execution; the bot's three reproduction runs then crash exactly once: rate 1/3. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NOINLINE __attribute__((noinline))

static volatile int sink;

NOINLINE static int next_count(void) {
  int count = 0;
  FILE *file = fopen("flaky-count", "r");
  if (file) {
    if (fscanf(file, "%d", &count) != 1) {
      count = 0;
    }
    fclose(file);
  }
  file = fopen("flaky-count", "w");
  if (file) {
    fprintf(file, "%d\n", count + 1);
    fclose(file);
  }
  return count;
}

NOINLINE static void sometimes_write_null(int count) {
  int *volatile target = count % 3 == 0 ? (int *)0 : (int *)&sink;
  *target = count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 3 && data[0] == 'F' && data[1] == 'L' && data[2] == 'K') {
    sometimes_write_null(next_count());
  }
  return 0;
}

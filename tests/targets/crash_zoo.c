/* libFuzzer harness with one bug of each kind crash triage must tell apart; the first input byte picks it.
 * Build: clang -g -O1 -fno-optimize-sibling-calls -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
 * Every bug sits in its own named function below the harness, so the crash state names real code.
 *   r  heap-buffer-overflow READ 1          w  heap-buffer-overflow WRITE 4
 *   u  heap-use-after-free READ 1           d  double free
 *   s  stack-buffer-overflow WRITE 1        x  stack exhaustion (unbounded recursion)
 *   n  null dereference (READ)              i  signed integer overflow (UBSan)
 *   l  leak of 64 bytes                     t  endless loop (timeout)
 *   m  1 GiB allocation (out-of-memory)     a  abort()
 *   A  failed assert()
 *   p, q  the same heap overflow WRITE 1 reached through two different callers (p: via_path_one, q: via_path_two),
 *         with different inputs: one bug, one crash state.
 *   P  heap overflow WRITE 1 through the same callers as p into another function: a second, different bug. */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* Keeps -O1 from deleting reads, writes and allocations. */
static volatile int sink;
static void *volatile keep;

struct record {
  int length;
  char name[12];
};

NOINLINE static int read_past_end(const uint8_t *data, size_t size) {
  char *block = malloc(8);
  memset(block, 'a', 8);
  int value = block[8 + (size > 100)]; /* one past the end */
  free(block);
  return value;
}

NOINLINE static void write_past_end(void) {
  int *block = malloc(4 * sizeof(int));
  block[4] = 1; /* the fifth int of four */
  keep = block;
  free(block);
}

NOINLINE static int read_after_free(void) {
  char *block = malloc(16);
  block[0] = 'x';
  free(block);
  return block[0];
}

NOINLINE static void free_twice(void) {
  keep = malloc(16);
  free(keep);
  free(keep);
}

NOINLINE static void overflow_stack_buffer(const uint8_t *data, size_t size) {
  char buffer[8];
  char *volatile cursor = buffer; /* through a pointer, so ASan sees it, not UBSan's bounds check */
  size_t index = 8 + (size > 1 ? data[1] % 4 : 0);
  cursor[index] = 'x';
  sink = buffer[0];
}

NOINLINE static int recurse(int depth) {
  char frame[256];
  frame[depth % 256] = (char)depth;
  return recurse(depth + 1) + frame[(depth + 1) % 256];
}

/* A field read through a pointer just above null: ASan's SEGV on a small address, not UBSan's null check. */
NOINLINE static int read_field(const struct record *r) { return r->length; }

NOINLINE static void overflow_integer(const uint8_t *data, size_t size) {
  int total = INT_MAX - 1;
  total += 2 + (size > 1 ? data[1] % 2 : 0);
  sink = total;
}

NOINLINE static void leak_block(void) {
  char *block = malloc(64);
  memset(block, 'l', 64);
  sink = block[63];
}

/* Unsigned, so the loop can only time out: a signed counter overflows within a second on a fast core, and UBSan's
 * report would race libFuzzer's timeout. */
static volatile unsigned spins;

NOINLINE static void spin_forever(void) {
  for (;;) {
    spins++;
  }
}

NOINLINE static void allocate_too_much(void) {
  char *block = malloc((size_t)1 << 30);
  if (block) {
    memset(block, 1, (size_t)1 << 30);
  }
  keep = block;
}

NOINLINE static void give_up(void) { abort(); }

NOINLINE static void check_invariant(const uint8_t *data, size_t size) { assert(size > 0 && data[0] != 'A'); }

/* One bug, two ways in: write_one_past <- store_name <- parse_record, called from via_path_one or via_path_two. */
NOINLINE static void write_one_past(char *name, size_t length) {
  name[length] = '\0';
  sink = name[0];
}

NOINLINE static void store_name(const uint8_t *data, size_t size) {
  char *name = malloc(12);
  memcpy(name, data, size < 12 ? size : 12);
  write_one_past(name, 12);
  free(name);
}

NOINLINE static void clobber_header(const uint8_t *data, size_t size) {
  char *header = malloc(4);
  memcpy(header, data, size < 4 ? size : 4);
  header[4] = (char)size;
  sink = header[0];
  free(header);
}

NOINLINE static int parse_record(const uint8_t *data, size_t size, int second_bug) {
  if (second_bug) {
    clobber_header(data, size);
  } else {
    store_name(data, size);
  }
  return (int)size;
}

NOINLINE static int via_path_one(const uint8_t *data, size_t size) { return parse_record(data, size, data[0] == 'P') + 1; }

NOINLINE static int via_path_two(const uint8_t *data, size_t size) { return parse_record(data, size, 0) + 2; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }

  switch (data[0]) {
  case 'r': sink = read_past_end(data, size); break;
  case 'w': write_past_end(); break;
  case 'u': sink = read_after_free(); break;
  case 'd': free_twice(); break;
  case 's': overflow_stack_buffer(data, size); break;
  case 'x': sink = recurse(0); break;
  case 'n': sink = read_field((const struct record *)(uintptr_t)(16 + 16 * (size > 1000))); break;
  case 'i': overflow_integer(data, size); break;
  case 'l': leak_block(); break;
  case 't': spin_forever(); break;
  case 'm': allocate_too_much(); break;
  case 'a': give_up(); break;
  case 'A': check_invariant(data, size); break;
  case 'p': case 'P': sink = via_path_one(data, size); break;
  case 'q': sink = via_path_two(data, size); break;
  default: break;
  }
  return 0;
}

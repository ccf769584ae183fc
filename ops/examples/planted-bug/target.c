/*
 * PandaFuzz demo target: a toy parser for a TLV "session packet".
 *
 *   packet := "PKT" version:u8 record*
 *   record := type:u8 length:u8 value[length]
 *
 *   0x01 HELLO  value[0] = capacity of the peer name buffer
 *   0x02 NAME   the peer name (copied into the buffer HELLO sized)
 *   0x03 PORT   u16 big-endian
 *   0x04 FLAGS  u8
 *   0xFF END    stops parsing
 *
 * Planted bug: NAME checks its length against the protocol maximum
 * (MAX_NAME) instead of the capacity HELLO announced, so a small HELLO
 * followed by a longer NAME is a heap-buffer-overflow write.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address target.c -o target
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64

enum record_type {
  REC_HELLO = 0x01,
  REC_NAME = 0x02,
  REC_PORT = 0x03,
  REC_FLAGS = 0x04,
  REC_END = 0xFF,
};

struct session {
  uint8_t version;
  uint8_t flags;
  uint16_t port;
  char *name;
  size_t name_cap;
  size_t name_len;
};

/* Keeps -O1 from dropping the parse result. */
static volatile uint32_t sink;

static int handle_record(struct session *s, uint8_t type, const uint8_t *value, uint8_t len) {
  switch (type) {
  case REC_HELLO:
    if (len < 1 || s->name != NULL || value[0] == 0)
      return -1;
    s->name_cap = value[0];
    s->name = (char *)malloc(s->name_cap);
    return s->name == NULL ? -1 : 0;
  case REC_NAME:
    if (s->name == NULL || len > MAX_NAME) /* BUG: should be len > s->name_cap */
      return -1;
    memcpy(s->name, value, len);
    s->name_len = len;
    return 0;
  case REC_PORT:
    if (len != 2)
      return -1;
    s->port = (uint16_t)((value[0] << 8) | value[1]);
    return 0;
  case REC_FLAGS:
    if (len != 1)
      return -1;
    s->flags = value[0];
    return 0;
  default:
    return -1; /* unknown record: reject the packet */
  }
}

static int parse_packet(struct session *s, const uint8_t *data, size_t size) {
  if (size < 4 || memcmp(data, "PKT", 3) != 0)
    return -1;
  s->version = data[3];
  if (s->version != 1 && s->version != 2)
    return -1;
  size_t pos = 4;
  while (pos + 2 <= size) {
    uint8_t type = data[pos];
    uint8_t len = data[pos + 1];
    pos += 2;
    if (type == REC_END)
      return 0;
    if (len > size - pos)
      return -1; /* truncated record */
    if (handle_record(s, type, data + pos, len) != 0)
      return -1;
    pos += len;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct session s;
  memset(&s, 0, sizeof s);
  if (parse_packet(&s, data, size) == 0) {
    uint32_t h = (uint32_t)s.version ^ ((uint32_t)s.port << 8) ^ s.flags;
    for (size_t i = 0; i < s.name_len; i++)
      h = h * 31u + (uint8_t)s.name[i];
    sink = h;
  }
  free(s.name);
  return 0;
}

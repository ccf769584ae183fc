/*
 * Benchmark harness for the ensemble benchmark: a small record parser whose coverage keeps growing for
 * minutes, with checks of different difficulty for each engine. Deterministic (no globals carried between
 * inputs, no time, no randomness) and it never crashes: every read is bounds-checked.
 *
 *   - one-byte keywords compared byte by byte (easy for AFL++ and libFuzzer),
 *   - 16- and 32-bit magic values compared whole (easy for libFuzzer's comparison tracing, hard for plain AFL++),
 *   - a running checksum that unlocks more branches (hard for both),
 *   - a record loop whose opcode handlers branch on value ranges (steady growth).
 *
 * Input: "BP" version(1) then records [type(1) len(1) payload(len)] until the end.
 */
#include <stddef.h>
#include <stdint.h>

/* Keeps -O1 from deleting the work. */
static volatile uint32_t sink;

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t keyword(const uint8_t *p, size_t n) {
  if (n < 4) return 0;
  if (p[0] == 'G') {
    if (p[1] == 'E' && p[2] == 'T') return p[3] == ' ' ? 1 : 2;
  } else if (p[0] == 'P') {
    if (p[1] == 'U') { if (p[2] == 'T') return 3; }
    else if (p[1] == 'O') { if (p[2] == 'S' && p[3] == 'T') return 4; }
  } else if (p[0] == 'D') {
    if (p[1] == 'E' && p[2] == 'L') return 5;
  } else if (p[0] == 'L') {
    if (p[1] == 'I' && p[2] == 'S' && p[3] == 'T') return 6;
  } else if (p[0] == 'H') {
    if (p[1] == 'E' && p[2] == 'A' && p[3] == 'D') return 7;
  }
  return 0;
}

static uint32_t ranges(uint8_t v, uint32_t acc) {
  if (v < 16) acc += 1;
  else if (v < 32) acc ^= 2;
  else if (v < 64) acc *= 3;
  else if (v < 96) acc += v;
  else if (v < 128) acc -= 7;
  else if (v < 160) acc ^= 0x55;
  else if (v < 192) acc = (acc << 1) | 1;
  else if (v < 224) acc >>= 1;
  else acc ^= 0xffu;
  return acc;
}

static uint32_t arith(const uint8_t *p, size_t n, uint32_t acc) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    switch (p[i] & 7) {
      case 0: acc += p[i + 1]; break;
      case 1: acc -= p[i + 1]; break;
      case 2: acc *= (uint32_t)p[i + 1] | 1u; break;
      case 3: acc ^= (uint32_t)p[i + 1] << 8; break;
      case 4: if (p[i + 1]) acc /= p[i + 1]; break;
      case 5: if (p[i + 1]) acc %= p[i + 1]; else acc = 0; break;
      case 6: acc = (acc << (p[i + 1] & 15)) | (acc >> (16 - (p[i + 1] & 15))); break;
      default: acc = ranges(p[i + 1], acc); break;
    }
  }
  return acc;
}

static uint32_t text(const uint8_t *p, size_t n, uint32_t acc) {
  uint32_t digits = 0, letters = 0, spaces = 0, other = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= '0' && c <= '9') digits++;
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) letters++;
    else if (c == ' ' || c == '\t') spaces++;
    else other++;
  }
  if (digits > 3 && letters > 3) acc += 11;
  if (spaces > 2) { acc ^= 13; if (other == 0) acc += 17; }
  if (letters == n && n > 6) acc *= 19;
  return acc + keyword(p, n) * 23;
}

static uint32_t magic(const uint8_t *p, size_t n, uint32_t acc) {
  if (n < 4) return acc;
  uint32_t m = rd32(p);
  if (m == 0x4b4e4150u) {          /* "PANK" */
    acc += 101;
    if (n >= 6 && rd16(p + 4) == 0xbeefu) {
      acc ^= 103;
      if (n >= 10 && rd32(p + 6) == 0x12345678u) acc *= 107;
    }
  } else if (m == 0xdeadc0deu) {
    acc += 109;
    if (n >= 5) acc = ranges(p[4], acc);
  } else if (rd16(p) == 0x7a7au) {
    acc ^= 113;
  }
  return acc;
}

static uint32_t checksum(const uint8_t *p, size_t n, uint32_t acc) {
  if (n < 3) return acc;
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i++) sum = (sum + p[i]) % 251u;
  if (sum == p[n - 1]) {
    acc += 127;
    if (n > 8) {
      if (p[0] == p[1]) acc ^= 131;
      if (p[2] > p[3]) acc += 137;
      if ((p[4] ^ p[5]) == 0x5a) acc *= 139;
    }
  }
  return acc;
}

static uint32_t nested(const uint8_t *p, size_t n, uint32_t acc, int depth) {
  if (depth > 4 || n < 2) return acc + (uint32_t)depth;
  uint8_t inner = p[0];
  if (inner == 0 || (size_t)inner + 1 > n) return acc;
  acc = ranges(p[1], acc);
  switch (depth) {
    case 0: acc += 1; break;
    case 1: acc ^= 2; break;
    case 2: acc += 3; break;
    case 3: acc ^= 4; break;
    default: acc += 5; break;
  }
  return nested(p + 1, inner, acc, depth + 1);
}

/* A chain of steps, each reachable only after the one before: coverage that grows for minutes. */
static const uint8_t chain8[24] = {0x3c, 0x91, 0x07, 0xe2, 0x5d, 0xa8, 0x16, 0xcf, 0x42, 0x7b, 0xf0, 0x29,
                                   0x88, 0x13, 0xd4, 0x6e, 0xb5, 0x30, 0x9a, 0x0f, 0xc7, 0x64, 0xee, 0x51};
static const uint16_t chain16[12] = {0x1f2e, 0x3d4c, 0x5b6a, 0x7988, 0x97a6, 0xb5c4,
                                     0xd3e2, 0xf100, 0x0abc, 0x1def, 0x2468, 0x1357};

static uint32_t step(uint32_t state, uint32_t acc) {
  switch (state) {
    case 1: return acc + 1;   case 2: return acc ^ 2;   case 3: return acc + 3;   case 4: return acc ^ 4;
    case 5: return acc + 5;   case 6: return acc ^ 6;   case 7: return acc + 7;   case 8: return acc ^ 8;
    case 9: return acc + 9;   case 10: return acc ^ 10; case 11: return acc + 11; case 12: return acc ^ 12;
    case 13: return acc + 13; case 14: return acc ^ 14; case 15: return acc + 15; case 16: return acc ^ 16;
    case 17: return acc + 17; case 18: return acc ^ 18; case 19: return acc + 19; case 20: return acc ^ 20;
    case 21: return acc + 21; case 22: return acc ^ 22; case 23: return acc + 23; case 24: return acc ^ 24;
    default: return acc;
  }
}

static uint32_t step16(uint32_t state, uint32_t acc) {
  switch (state) {
    case 1: return acc * 3;   case 2: return acc * 5;   case 3: return acc * 7;   case 4: return acc * 11;
    case 5: return acc * 13;  case 6: return acc * 17;  case 7: return acc * 19;  case 8: return acc * 23;
    case 9: return acc * 29;  case 10: return acc * 31; case 11: return acc * 37; case 12: return acc * 41;
    default: return acc;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3 || data[0] != 'B' || data[1] != 'P') return 0;
  uint8_t version = data[2];
  if (version == 0 || version > 3) return 0;

  uint32_t acc = version;
  uint32_t seen = 0;
  uint32_t state8 = 0, state16 = 0;
  size_t at = 3;
  int records = 0;
  while (at + 2 <= size && records < 64) {
    uint8_t type = data[at];
    size_t len = data[at + 1];
    at += 2;
    if (len > size - at) break;
    const uint8_t *payload = data + at;
    at += len;
    records++;

    if (version >= 2 && (type & 0x80)) {
      /* Version 2+ flags: the high bit asks for an extra pass. */
      acc ^= 0x80;
      type &= 0x7f;
    }

    switch (type) {
      case 0x01: acc = arith(payload, len, acc); break;
      case 0x02: acc = text(payload, len, acc); break;
      case 0x03: acc = magic(payload, len, acc); break;
      case 0x04: acc = checksum(payload, len, acc); break;
      case 0x05: acc = nested(payload, len, acc, 0); break;
      case 0x06:
        for (size_t i = 0; i < len; i++) acc = ranges(payload[i], acc);
        break;
      case 0x07:
        if (len == 0) acc += 1;
        else if (len == 1) acc += 2;
        else if (len == 4) acc += 4;
        else if (len == 8) acc += 8;
        else if (len > 64) acc += 64;
        break;
      case 0x08:
        /* Order: records of each type seen before. */
        if ((seen & 0x06) == 0x06) acc ^= 0x1111;
        if ((seen & 0x18) == 0x18) acc ^= 0x2222;
        if ((seen & 0x7e) == 0x7e) acc ^= 0x4444;
        break;
      case 0x0a:
        for (size_t i = 0; i < len && state8 < 24; i++) {
          if (payload[i] != chain8[state8]) break;
          state8++;
          acc = step(state8, acc);
        }
        break;
      case 0x0b:
        if (len >= 2 && state16 < 12 && rd16(payload) == chain16[state16]) {
          state16++;
          acc = step16(state16, acc);
        }
        break;
      case 0x09:
        if (version == 3 && len >= 2) acc = magic(payload, len, arith(payload, len, acc));
        break;
      default:
        if (type >= 0x40 && type < 0x50) acc += type;
        else if (type >= 0x50 && type < 0x60) acc ^= type;
        break;
    }
    if (type < 32) seen |= 1u << type;
  }
  if (records >= 4) acc += 1000;
  if (records >= 16) acc += 2000;
  if (at == size) acc ^= 0xabcd;
  sink = acc;
  return 0;
}

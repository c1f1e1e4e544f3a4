// CRC32C with the SSE4.2 crc32 instruction where the CPU has it (checked at run time, so the
// addon still loads on older CPUs) and a slice-by-8 table otherwise.
#include "crc32c.h"

#include <cstring>

namespace vtl {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected 0x1EDC6F41

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (kPoly & (0u - (c & 1)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
  }
};

const Tables kTables;

uint32_t CrcTable(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian hosts only (x86-64, aarch64)
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return c;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of one: three streams
// over three neighbouring blocks run at once, and their CRCs are joined with a "shift by n zero
// bytes" operator (the register update is linear over GF(2): crc(A || B) from s equals
// shift(crc(A) from s, |B|) xor crc(B) from 0). The operator for a fixed n is four 256-entry
// tables, built once from the 32 single-bit states.
constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;

struct ShiftTable {
  uint32_t t[4][256];
};

__attribute__((target("sse4.2"))) uint32_t ZeroBytes(uint32_t c, size_t n) {
  uint64_t c64 = c;
  for (size_t i = 0; i < n; i += 8) c64 = __builtin_ia32_crc32di(c64, 0);
  return static_cast<uint32_t>(c64);
}

__attribute__((target("sse4.2"))) ShiftTable MakeShift(size_t n) {
  uint32_t bit[32];
  for (int j = 0; j < 32; j++) bit[j] = ZeroBytes(1u << j, n);
  ShiftTable s;
  for (int k = 0; k < 4; k++) {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t v = 0;
      for (int j = 0; j < 8; j++) {
        if (b & (1u << j)) v ^= bit[8 * k + j];
      }
      s.t[k][b] = v;
    }
  }
  return s;
}

inline uint32_t Shift(const ShiftTable& s, uint32_t c) {
  return s.t[0][c & 0xff] ^ s.t[1][(c >> 8) & 0xff] ^ s.t[2][(c >> 16) & 0xff] ^ s.t[3][c >> 24];
}

template <size_t kBlock>
__attribute__((target("sse4.2"))) uint32_t ThreeWay(uint32_t c, const uint8_t*& p, size_t& n,
                                                   const ShiftTable& shift) {
  while (n >= 3 * kBlock) {
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + i, 8);
      std::memcpy(&v1, p + kBlock + i, 8);
      std::memcpy(&v2, p + 2 * kBlock + i, 8);
      c0 = __builtin_ia32_crc32di(c0, v0);
      c1 = __builtin_ia32_crc32di(c1, v1);
      c2 = __builtin_ia32_crc32di(c2, v2);
    }
    c = Shift(shift, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    c = Shift(shift, c) ^ static_cast<uint32_t>(c2);
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t CrcHardware(uint32_t c, const uint8_t* p, size_t n) {
  static const ShiftTable kShiftLong = MakeShift(kLong);
  static const ShiftTable kShiftShort = MakeShift(kShort);
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = __builtin_ia32_crc32qi(c, *p++);
    n--;
  }
  c = ThreeWay<kLong>(c, p, n, kShiftLong);
  c = ThreeWay<kShort>(c, p, n, kShiftShort);
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}

// Runs as a static initializer, before libgcc's own CPU detection may have: initialise it first.
bool DetectHardware() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

const bool kHardware = DetectHardware();
#else
const bool kHardware = false;
#endif

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* p, size_t n) {
  const auto* bytes = static_cast<const uint8_t*>(p);
#if defined(__x86_64__)
  if (kHardware) return ~CrcHardware(~crc, bytes, n);
#endif
  return ~CrcTable(~crc, bytes, n);
}

bool Crc32cHardware() { return kHardware; }

}  // namespace vtl

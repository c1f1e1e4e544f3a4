// Small helpers shared by the native sources.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace vtl {

// Data segments are padded to a multiple of 4 bytes (RFC 7143 11.2.3).
inline size_t Pad4(size_t n) { return (n + 3) & ~size_t{3}; }

// Digests travel least significant byte first (RFC 7143 13.1; libiscsi lib/pdu.c).
inline uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

inline void PutLe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

inline std::string Errno(const char* op, int err) {
  return std::string("socket error: ") + op + " " + std::strerror(err);
}

}  // namespace vtl

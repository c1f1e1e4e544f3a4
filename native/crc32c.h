// CRC32C (Castagnoli), the iSCSI digest (RFC 7143 13.1; vectors in Appendix B.4).
#pragma once
#include <cstddef>
#include <cstdint>

namespace vtl {

// The CRC32C of p[0, n) continuing from `crc` (0 to start, else the result of an earlier call
// over the bytes before), the same convention as the JS crc32c().
uint32_t Crc32c(uint32_t crc, const void* p, size_t n);

// True when the SSE4.2 crc32 instruction is used (checked once with cpuid).
bool Crc32cHardware();

}  // namespace vtl

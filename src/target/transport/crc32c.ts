/**
 * CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78), the iSCSI digest algorithm
 * (RFC 7143 13.1, test vectors in RFC 7143 Appendix B.4). `fast-crc32c` uses the SSE4.2 `crc32`
 * instruction when the CPU has it and a table otherwise; the native addon carries its own copy
 * for the C++ data path.
 */
import { createRequire } from 'node:module';

interface Crc32cImpl {
  calculate(buf: Buffer, initial?: number): number;
}

const require = createRequire(import.meta.url);
const impl = require('fast-crc32c') as Crc32cImpl;

/**
 * The CRC32C of `buf`, continuing from `initial` (the result of a previous call over the bytes
 * before it), so `crc32c(b, crc32c(a)) === crc32c(concat(a, b))`. Returns an unsigned 32-bit value.
 */
export function crc32c(buf: Uint8Array, initial = 0): number {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return impl.calculate(b, initial) >>> 0;
}

/**
 * Identifiers every device type derives the same way: unit serial numbers (VPD 80h) and NAA 5
 * designators (VPD 83h, SPC-4 7.8.6.6).
 */
import { createHash, randomBytes } from 'node:crypto';

/** Serial characters: upper-case letters and digits without I and O (read aloud, they confuse). */
const SERIAL_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

export function randomSerial(length: number): string {
  return [...randomBytes(length)].map((b) => SERIAL_ALPHABET[b % SERIAL_ALPHABET.length]).join('');
}

/**
 * A serial that stays the same for the same seed (e.g. target name and LUN), so a restarted
 * server keeps its device identities: `prefix` then base-36 digits of a SHA-256 of the seed.
 */
export function stableSerial(prefix: string, seed: string, length: number): string {
  const h = createHash('sha256').update(seed).digest();
  const digits = BigInt('0x' + h.subarray(0, 8).toString('hex'))
    .toString(36)
    .toUpperCase()
    .padStart(length, '0');
  return (prefix + digits).slice(0, length);
}

/** NAA 5 (IEEE Registered): 4-bit NAA, the 24-bit company OUI, 36 bits from a hash of `seed`. */
export function naa5(oui: number, seed: string): Buffer {
  const h = createHash('sha256').update(seed).digest();
  const b = Buffer.alloc(8);
  b.writeUInt32BE(((0x5 << 28) | ((oui & 0xffffff) << 4) | (h[0] >> 4)) >>> 0, 0);
  b.writeUInt32BE(h.readUInt32BE(1), 4);
  return b;
}

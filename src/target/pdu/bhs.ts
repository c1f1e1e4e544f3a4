/**
 * Fields common to every Basic Header Segment (RFC 7143 11.2.1) and the helpers every codec
 * shares: LUN encoding (SAM-5 4.7), a writer for a fresh 48-byte header, and serial number
 * arithmetic for CmdSN/StatSN/DataSN (RFC 1982, as RFC 7143 4.2.2.1 requires).
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';

export const BHS_LENGTH = 48;

/** Offsets shared by all BHS variants (RFC 7143 11.2.1). */
export const BhsOffset = {
  OPCODE: 0,
  FLAGS: 1,
  TOTAL_AHS_LENGTH: 4,
  DATA_SEGMENT_LENGTH: 5,
  LUN: 8,
  ITT: 16,
} as const;

/** Byte 0: bit 6 is the I (immediate delivery) bit, bits 5-0 the opcode. */
export const IMMEDIATE_BIT = 0x40;
export const FINAL_BIT = 0x80;

export function opcodeOf(bhs: Buffer): number {
  return bhs[BhsOffset.OPCODE] & 0x3f;
}

export function isImmediate(bhs: Buffer): boolean {
  return (bhs[BhsOffset.OPCODE] & IMMEDIATE_BIT) !== 0;
}

export function dataSegmentLengthOf(bhs: Buffer): number {
  return bhs.readUIntBE(BhsOffset.DATA_SEGMENT_LENGTH, 3);
}

export function totalAhsLengthOf(bhs: Buffer): number {
  return bhs[BhsOffset.TOTAL_AHS_LENGTH];
}

export function ittOf(bhs: Buffer): number {
  return bhs.readUInt32BE(BhsOffset.ITT);
}

/**
 * Starts a header: opcode (with the I bit when asked), flags, TotalAHSLength and
 * DataSegmentLength filled in, everything else zero. Returns a writer positioned at byte 8.
 */
export function headerWriter(
  opcode: number,
  flags: number,
  dataLength: number,
  options: { immediate?: boolean; ahs?: Buffer | null } = {},
): ByteWriter {
  const ahsLength = options.ahs ? options.ahs.length : 0;
  const buf = Buffer.allocUnsafe(BHS_LENGTH + ahsLength).fill(0, 0, BHS_LENGTH);
  const w = new ByteWriter(buf);
  w.u8(opcode | (options.immediate ? IMMEDIATE_BIT : 0))
    .u8(flags)
    .skip(2)
    .u8(ahsLength / 4)
    .u24(dataLength);
  if (options.ahs) options.ahs.copy(buf, BHS_LENGTH);
  return w;
}

export function reader(bhs: Buffer): ByteReader {
  return new ByteReader(bhs);
}

/** LUN values this codec cannot express (SAM-5 4.7: peripheral and flat addressing only). */
export const LUN_UNSUPPORTED = -1;

/**
 * Decodes the 8-byte LUN field: peripheral device addressing (method 00b, bus 0) for LUNs
 * 0-255 and flat space addressing (01b) for 0-16383, as Linux and libiscsi send them.
 */
export function decodeLun(buf: Buffer, offset: number): number {
  const b0 = buf[offset];
  const b1 = buf[offset + 1];
  // Only the first level is used; deeper levels must be zero for a single-level LUN.
  if (buf.readUInt32BE(offset + 2) !== 0 || buf.readUInt16BE(offset + 6) !== 0) return LUN_UNSUPPORTED;
  switch (b0 >> 6) {
    case 0:
      return b0 === 0 ? b1 : LUN_UNSUPPORTED;
    case 1:
      return ((b0 & 0x3f) << 8) | b1;
    default:
      return LUN_UNSUPPORTED;
  }
}

/** Encodes a LUN the way REPORT LUNS lists it (SAM-5 4.7.3): peripheral below 256, flat above. */
export function encodeLun(lun: number, buf: Buffer = Buffer.alloc(8), offset = 0): Buffer {
  buf.fill(0, offset, offset + 8);
  if (lun < 256) {
    buf[offset + 1] = lun;
  } else {
    buf[offset] = 0x40 | ((lun >> 8) & 0x3f);
    buf[offset + 1] = lun & 0xff;
  }
  return buf;
}

/** RFC 1982 serial number arithmetic on 32-bit sequence numbers. */
export const serial = {
  lt(a: number, b: number): boolean {
    return a !== b && (b - a) >>> 0 < 0x80000000;
  },
  le(a: number, b: number): boolean {
    return a === b || serial.lt(a, b);
  },
  gt(a: number, b: number): boolean {
    return serial.lt(b, a);
  },
  add(a: number, n: number): number {
    return (a + n) >>> 0;
  },
  /** True when lo <= x <= hi in serial arithmetic. */
  inWindow(x: number, lo: number, hi: number): boolean {
    return serial.le(lo, x) && serial.le(x, hi);
  },
};

/** Data segments are padded to a 4-byte boundary (RFC 7143 11.2.3). */
export function padLength(n: number): number {
  return (4 - (n & 3)) & 3;
}

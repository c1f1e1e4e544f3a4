/**
 * Wire fixture builders for transport tests. Digests are written here by hand (CRC32C,
 * least significant byte first) rather than through encodePdu, so the encoder and the framers
 * are checked against an independent reading of RFC 7143 11.1/13.1.
 */
import { crc32c } from '../../../src/target/transport/crc32c.js';

export interface PduSpec {
  opcode: number;
  itt: number;
  ahsWords: number;
  data: Buffer | null;
}

/** A BHS (RFC 7143 11.2.1) with opcode, TotalAHSLength, DataSegmentLength and ITT set. */
export function makeHeader(spec: PduSpec): Buffer {
  const header = Buffer.alloc(48 + spec.ahsWords * 4);
  header[0] = spec.opcode & 0x3f;
  header[1] = 0x80;
  header[4] = spec.ahsWords;
  header.writeUIntBE(spec.data ? spec.data.length : 0, 5, 3);
  header.writeUInt32BE(spec.itt >>> 0, 16);
  for (let i = 48; i < header.length; i++) header[i] = (i * 7 + spec.itt) & 0xff;
  return header;
}

export function patternData(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return b;
}

/** The bytes of one PDU as an initiator would put them on the wire. */
export function wire(spec: PduSpec, headerDigest: boolean, dataDigest: boolean): Buffer {
  const header = makeHeader(spec);
  const parts: Buffer[] = [header];
  if (headerDigest) parts.push(le32(crc32c(header)));
  const data = spec.data;
  if (data && data.length > 0) {
    const padded = Buffer.alloc((data.length + 3) & ~3);
    data.copy(padded);
    parts.push(padded);
    if (dataDigest) parts.push(le32(crc32c(padded)));
  }
  return Buffer.concat(parts);
}

export function le32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

/** A mix of shapes: no data, each padding length, AHS, and a few KiB. */
export function sampleSpecs(): PduSpec[] {
  return [
    { opcode: 0x00, itt: 1, ahsWords: 0, data: null },
    { opcode: 0x01, itt: 2, ahsWords: 0, data: patternData(1, 2) },
    { opcode: 0x05, itt: 3, ahsWords: 0, data: patternData(6, 3) },
    { opcode: 0x04, itt: 4, ahsWords: 2, data: patternData(7, 4) },
    { opcode: 0x05, itt: 5, ahsWords: 0, data: patternData(8, 5) },
    { opcode: 0x03, itt: 6, ahsWords: 1, data: null },
    { opcode: 0x05, itt: 7, ahsWords: 0, data: patternData(3001, 7) },
  ];
}

/**
 * The record format of data chunk files (DESIGN.md "The tape image"): every logical object
 * (data block or filemark) is one record, a 32-byte header followed by its payload, laid end to
 * end. The CRC32C covers the header (bytes 0..27) and the payload, so a torn or stale record is
 * recognised when the tail is checked on open and when a block is read.
 *
 *   offset  size  field
 *        0     4  magic 'VTLR'
 *        4     1  format version (2; 1 is still read)
 *        5     1  kind: 1 data, 2 filemark
 *        6     2  flags: bit 0 compressed, bit 1 encrypted (RecordFlag; other bits 0)
 *        8     4  payload length in bytes (0 for a filemark)
 *       12     4  key id: which key encrypted the payload (a fingerprint, never key bytes; 0)
 *       16     2  reserved (0)
 *       18     6  logical object number (0-based from BOP)
 *       24     4  write epoch (version 2; reserved 0 in version 1, read as epoch 0)
 *       28     4  CRC32C over bytes 0..27 and the payload
 *
 * The write epoch (version 2) is the partition's generation number when the record was written.
 * Chunk files are overwritten in place and the tape is cut logically, so bytes of an earlier
 * pass may lie past the logical end; the epoch is how recovery tells them from records of the
 * current pass (recovery.ts).
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { crc32c as crc } from '../../target/transport/crc32c.js';

export const RECORD_MAGIC = 0x56544c52; // 'VTLR'
export const RECORD_FORMAT_VERSION = 2;
/** The first format: no epoch (bytes 24..27 reserved, zero). Still read; never written. */
export const RECORD_FORMAT_V1 = 1;
/** Largest write epoch (a u32). */
export const MAX_EPOCH = 0xffff_ffff;
export const RECORD_HEADER_SIZE = 32;
/** Largest block SSC can transfer: the 24-bit TRANSFER LENGTH of READ(6)/WRITE(6) (SSC-4 7.2). */
export const MAX_BLOCK_LENGTH = 0xffffff;

export const RecordOffset = {
  magic: 0,
  version: 4,
  kind: 5,
  flags: 6,
  payloadLength: 8,
  keyId: 12,
  reserved16: 16,
  objectNumber: 18,
  epoch: 24,
  crc: 28,
} as const;

export const RecordKind = { data: 1, filemark: 2 } as const;
export type RecordKindName = keyof typeof RecordKind;

/**
 * Flag bits, set by the drive's data path (src/vtl/ssc/data-path.ts): the payload is a zstd frame
 * of the block (compressed), and/or an AES-256-GCM envelope of it (encrypted; compression runs
 * first). The image stores and returns them; it never interprets the payload.
 */
export const RecordFlag = { compressed: 0x0001, encrypted: 0x0002 } as const;
/** Every flag bit defined so far; a record with another bit set is from a newer writer. */
export const KNOWN_RECORD_FLAGS = RecordFlag.compressed | RecordFlag.encrypted;

export interface RecordHeader {
  readonly kind: RecordKindName;
  readonly flags: number;
  readonly payloadLength: number;
  readonly keyId: number;
  readonly objectNumber: number;
  /** Write epoch (0 for a version-1 record). */
  readonly epoch: number;
  /** Record format version the header was written with. */
  readonly version: number;
  readonly crc: number;
}

export interface RecordFields {
  kind: RecordKindName;
  objectNumber: number;
  /** Write epoch of the partition (default 0). */
  epoch?: number;
  flags?: number;
  keyId?: number;
  /** Format version to write: 2 (default), or 1 for images made before epochs (tests, tools). */
  version?: 1 | 2;
}

export function crc32cOf(data: Buffer, initial = 0): number {
  return crc(data, initial);
}

/** CRC32C of a record: header bytes before the CRC field, then the payload. */
export function recordCrc(header: Buffer, payload: Buffer): number {
  const h = crc(header.subarray(0, RecordOffset.crc), 0);
  return payload.length === 0 ? h : crc(payload, h);
}

/**
 * Writes the 32-byte header for `payload` into `target` at `at` (CRC included) and returns the
 * header bytes. The writer is positioned by the named offsets, never by arithmetic on the fly.
 */
export function encodeRecordHeader(
  fields: RecordFields,
  payload: Buffer,
  target: Buffer = Buffer.allocUnsafe(RECORD_HEADER_SIZE),
  at = 0,
): Buffer {
  const header = target.subarray(at, at + RECORD_HEADER_SIZE);
  const w = new ByteWriter(header);
  w.seek(RecordOffset.magic).u32(RECORD_MAGIC);
  const version = fields.version ?? RECORD_FORMAT_VERSION;
  const epoch = fields.epoch ?? 0;
  if (version === RECORD_FORMAT_V1 && epoch !== 0) throw new RangeError('a version-1 record has no epoch');
  w.seek(RecordOffset.version).u8(version);
  w.seek(RecordOffset.kind).u8(RecordKind[fields.kind]);
  w.seek(RecordOffset.flags).u16(fields.flags ?? 0);
  w.seek(RecordOffset.payloadLength).u32(payload.length);
  w.seek(RecordOffset.keyId).u32(fields.keyId ?? 0);
  w.seek(RecordOffset.reserved16).u16(0);
  w.seek(RecordOffset.objectNumber).u48(fields.objectNumber);
  w.seek(RecordOffset.epoch).u32(epoch);
  w.seek(RecordOffset.crc).u32(recordCrc(header, payload));
  return header;
}

/** Builds a whole record (header + payload) in one new buffer. */
export function encodeRecord(fields: RecordFields, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payload.length);
  payload.copy(out, RECORD_HEADER_SIZE);
  encodeRecordHeader(fields, payload, out, 0);
  return out;
}

/**
 * Decodes a header at `at`. Returns a reason string when the bytes are not a version-1 or
 * version-2 record header (wrong magic, version, kind, reserved bits, implausible length), so
 * callers can name the chunk and offset in their error.
 */
export function decodeRecordHeader(buf: Buffer, at = 0): RecordHeader | string {
  if (buf.length - at < RECORD_HEADER_SIZE)
    return `short header (${buf.length - at} of ${RECORD_HEADER_SIZE} bytes)`;
  const r = new ByteReader(buf, at);
  const magic = r.seek(at + RecordOffset.magic).u32();
  if (magic !== RECORD_MAGIC) return `bad record magic 0x${magic.toString(16).padStart(8, '0')}`;
  const version = r.seek(at + RecordOffset.version).u8();
  if (version !== RECORD_FORMAT_VERSION && version !== RECORD_FORMAT_V1)
    return `unsupported record format version ${version}`;
  const kindCode = r.seek(at + RecordOffset.kind).u8();
  const kind = kindCode === RecordKind.data ? 'data' : kindCode === RecordKind.filemark ? 'filemark' : null;
  if (kind === null) return `unknown record kind ${kindCode}`;
  const flags = r.seek(at + RecordOffset.flags).u16();
  const payloadLength = r.seek(at + RecordOffset.payloadLength).u32();
  if (payloadLength > MAX_BLOCK_LENGTH) return `implausible payload length ${payloadLength}`;
  if (kind === 'filemark' && payloadLength !== 0) return `filemark with payload length ${payloadLength}`;
  const keyId = r.seek(at + RecordOffset.keyId).u32();
  const epoch = r.seek(at + RecordOffset.epoch).u32();
  if (r.seek(at + RecordOffset.reserved16).u16() !== 0 || (version === RECORD_FORMAT_V1 && epoch !== 0)) {
    return 'reserved header bytes are not zero';
  }
  const objectNumber = r.seek(at + RecordOffset.objectNumber).u48();
  const crc = r.seek(at + RecordOffset.crc).u32();
  return { kind, flags, payloadLength, keyId, objectNumber, epoch, version, crc };
}

/** Null when the payload matches the header's CRC, else the reason. */
export function checkRecordCrc(headerBytes: Buffer, header: RecordHeader, payload: Buffer): string | null {
  const actual = recordCrc(headerBytes, payload);
  if (actual === header.crc) return null;
  return `CRC32C mismatch (stored 0x${header.crc.toString(16).padStart(8, '0')}, computed 0x${actual
    .toString(16)
    .padStart(8, '0')})`;
}

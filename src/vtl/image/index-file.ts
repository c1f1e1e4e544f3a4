/**
 * The on-disk index (`<LABEL>.idx`) and filemark list (`<LABEL>.fm`). Both are derived from the
 * chunk files and can be rebuilt from them; they exist so that LOCATE, SPACE and READ POSITION
 * find any logical object without scanning (DESIGN.md "The tape image").
 *
 * The index holds one fixed-size entry per logical object, read by position (entry i at
 * HEADER + i * 32), so memory does not grow with the tape: only a small window of entries is
 * cached. The filemark list (object numbers of filemarks, ascending) is small and lives in
 * memory; it answers fileNumber and SPACE FILEMARKS by binary search.
 *
 *   file header (16 bytes)        index entry (32 bytes)
 *     0  u32 magic                  0  u32 chunk number (1-based)
 *     4  u8  version (1)            4  u32 offset of the record header in the chunk
 *     5  u8  entry size             8  u32 payload length
 *     6  u16 reserved              12  u8  kind (RecordKind)
 *     8  u64 reserved              13  u8  record flags
 *                                  14  u16 reserved
 *                                  16  u16 reserved, 18 u48 bytes used before this object
 *                                  24  u32 filemarks before this object (file number)
 *                                  28  u32 reserved
 *   filemark entry (8 bytes): u16 reserved, u48 object number
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore } from './types.js';
import { RecordKind, type RecordKindName } from './record.js';

export const INDEX_MAGIC = 0x5654_4c58; // 'VTLX'
export const FILEMARK_MAGIC = 0x5654_4c46; // 'VTLF'
export const INDEX_FORMAT_VERSION = 1;
export const FILE_HEADER_SIZE = 16;
export const INDEX_ENTRY_SIZE = 32;
export const FILEMARK_ENTRY_SIZE = 8;

export const FileHeaderOffset = { magic: 0, version: 4, entrySize: 5, reserved6: 6, reserved8: 8 } as const;
export const IndexEntryOffset = {
  chunk: 0,
  offset: 4,
  payloadLength: 8,
  kind: 12,
  flags: 13,
  reserved14: 14,
  reserved16: 16,
  bytesBefore: 18,
  fileNumber: 24,
  reserved28: 28,
} as const;
export const FilemarkEntryOffset = { reserved: 0, objectNumber: 2 } as const;

export interface IndexEntry {
  readonly chunk: number;
  readonly offset: number;
  readonly payloadLength: number;
  readonly kind: RecordKindName;
  readonly flags: number;
  /** Capacity used by objects before this one (payload bytes plus filemark cost). */
  readonly bytesBefore: number;
  /** Filemarks before this object. */
  readonly fileNumber: number;
}

export function encodeFileHeader(magic: number, entrySize: number): Buffer {
  const w = new ByteWriter(FILE_HEADER_SIZE);
  w.seek(FileHeaderOffset.magic).u32(magic);
  w.seek(FileHeaderOffset.version).u8(INDEX_FORMAT_VERSION);
  w.seek(FileHeaderOffset.entrySize).u8(entrySize);
  return w.buf;
}

/** True when `buf` starts with a version-1 header of this magic and entry size. */
export function isFileHeader(buf: Buffer, magic: number, entrySize: number): boolean {
  if (buf.length < FILE_HEADER_SIZE) return false;
  const r = new ByteReader(buf);
  return (
    r.seek(FileHeaderOffset.magic).u32() === magic &&
    r.seek(FileHeaderOffset.version).u8() === INDEX_FORMAT_VERSION &&
    r.seek(FileHeaderOffset.entrySize).u8() === entrySize
  );
}

export function encodeIndexEntry(w: ByteWriter, at: number, e: IndexEntry): void {
  w.seek(at + IndexEntryOffset.chunk).u32(e.chunk);
  w.seek(at + IndexEntryOffset.offset).u32(e.offset);
  w.seek(at + IndexEntryOffset.payloadLength).u32(e.payloadLength);
  w.seek(at + IndexEntryOffset.kind).u8(RecordKind[e.kind]);
  w.seek(at + IndexEntryOffset.flags).u8(e.flags);
  w.seek(at + IndexEntryOffset.reserved14).u16(0);
  w.seek(at + IndexEntryOffset.reserved16).u16(0);
  w.seek(at + IndexEntryOffset.bytesBefore).u48(e.bytesBefore);
  w.seek(at + IndexEntryOffset.fileNumber).u32(e.fileNumber);
  w.seek(at + IndexEntryOffset.reserved28).u32(0);
}

/** Decodes an entry; a reason string when the bytes cannot be an entry. */
export function decodeIndexEntry(buf: Buffer, at: number): IndexEntry | string {
  const r = new ByteReader(buf);
  const kindCode = r.seek(at + IndexEntryOffset.kind).u8();
  const kind = kindCode === RecordKind.data ? 'data' : kindCode === RecordKind.filemark ? 'filemark' : null;
  if (kind === null) return `index entry kind ${kindCode} unknown`;
  const chunk = r.seek(at + IndexEntryOffset.chunk).u32();
  if (chunk < 1) return 'index entry names chunk 0';
  return {
    chunk,
    offset: r.seek(at + IndexEntryOffset.offset).u32(),
    payloadLength: r.seek(at + IndexEntryOffset.payloadLength).u32(),
    kind,
    flags: r.seek(at + IndexEntryOffset.flags).u8(),
    bytesBefore: r.seek(at + IndexEntryOffset.bytesBefore).u48(),
    fileNumber: r.seek(at + IndexEntryOffset.fileNumber).u32(),
  };
}

export function encodeFilemarkEntry(w: ByteWriter, at: number, objectNumber: number): void {
  w.seek(at + FilemarkEntryOffset.reserved).u16(0);
  w.seek(at + FilemarkEntryOffset.objectNumber).u48(objectNumber);
}

export function decodeFilemarkEntry(buf: Buffer, at: number): number {
  return new ByteReader(buf).seek(at + FilemarkEntryOffset.objectNumber).u48();
}

/** Index of the first element >= value in an ascending list (lower bound). */
export function lowerBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Entries read per index lookup miss; a window this size is all the index memory in use. */
const CACHE_ENTRIES = 256;

/**
 * Reads index entries by object number from the store, keeping one aligned window of
 * CACHE_ENTRIES entries so that short backward spaces and neighbouring LOCATEs cost no I/O.
 */
export class IndexReader {
  private cacheFirst = -1;
  private cacheCount = 0;
  private cache: Buffer = Buffer.alloc(0);

  constructor(
    private readonly store: CartridgeStore,
    private readonly name: string,
  ) {}

  invalidate(): void {
    this.cacheFirst = -1;
    this.cacheCount = 0;
  }

  /** Entries cached right now (bounded by CACHE_ENTRIES; exposed for the memory test). */
  get cachedEntries(): number {
    return this.cacheCount;
  }

  async get(objectNumber: number): Promise<IndexEntry> {
    if (objectNumber < this.cacheFirst || objectNumber >= this.cacheFirst + this.cacheCount) {
      const first = objectNumber - (objectNumber % CACHE_ENTRIES);
      const buf = await this.store.read(
        this.name,
        FILE_HEADER_SIZE + first * INDEX_ENTRY_SIZE,
        CACHE_ENTRIES * INDEX_ENTRY_SIZE,
      );
      this.cache = buf;
      this.cacheFirst = first;
      this.cacheCount = Math.floor(buf.length / INDEX_ENTRY_SIZE);
      if (objectNumber >= first + this.cacheCount) {
        throw new VtlError('ERR_IMAGE', `${this.name}: no index entry for object ${objectNumber}`);
      }
    }
    const e = decodeIndexEntry(this.cache, (objectNumber - this.cacheFirst) * INDEX_ENTRY_SIZE);
    if (typeof e === 'string') {
      throw new VtlError('ERR_IMAGE', `${this.name}: entry for object ${objectNumber}: ${e}`);
    }
    return e;
  }
}

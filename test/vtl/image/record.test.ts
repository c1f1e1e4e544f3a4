import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../../src/util/bytes.js';
import {
  checkRecordCrc,
  crc32cOf,
  decodeRecordHeader,
  encodeRecord,
  RECORD_HEADER_SIZE,
  RECORD_MAGIC,
  RecordOffset,
} from '../../../src/vtl/image/record.js';
import {
  decodeFilemarkEntry,
  decodeIndexEntry,
  encodeFilemarkEntry,
  encodeIndexEntry,
  INDEX_ENTRY_SIZE,
  IndexEntryOffset,
  lowerBound,
} from '../../../src/vtl/image/index-file.js';

describe('record codec', () => {
  it('round-trips a data record and lays fields at their named offsets', () => {
    const payload = Buffer.from('hello tape');
    const rec = encodeRecord({ kind: 'data', objectNumber: 0x0102_0304_0506, epoch: 0x0a0b0c0d }, payload);
    expect(rec.length).toBe(RECORD_HEADER_SIZE + payload.length);
    expect(rec.readUInt32BE(RecordOffset.magic)).toBe(RECORD_MAGIC);
    expect(rec.subarray(0, 4).toString('latin1')).toBe('VTLR');
    expect(rec[RecordOffset.version]).toBe(2);
    expect(rec.readUInt32BE(RecordOffset.epoch)).toBe(0x0a0b0c0d);
    expect(rec[RecordOffset.kind]).toBe(1);
    expect(rec.readUInt16BE(RecordOffset.flags)).toBe(0);
    expect(rec.readUInt32BE(RecordOffset.payloadLength)).toBe(payload.length);
    expect(rec.readUInt32BE(RecordOffset.keyId)).toBe(0);
    expect(rec.subarray(RecordOffset.objectNumber, RecordOffset.objectNumber + 6).toString('hex')).toBe(
      '010203040506',
    );
    const h = decodeRecordHeader(rec);
    if (typeof h === 'string') throw new Error(h);
    expect(h).toMatchObject({
      kind: 'data',
      flags: 0,
      payloadLength: 10,
      keyId: 0,
      objectNumber: 0x0102_0304_0506,
      epoch: 0x0a0b0c0d,
      version: 2,
    });
    expect(checkRecordCrc(rec, h, rec.subarray(RECORD_HEADER_SIZE))).toBeNull();
    expect(rec.subarray(RECORD_HEADER_SIZE).toString()).toBe('hello tape');
  });

  it('uses CRC32C (Castagnoli) over the header bytes before the CRC field and the payload', () => {
    // RFC 3720 B.4 check value for CRC32C.
    expect(crc32cOf(Buffer.from('123456789'))).toBe(0xe3069283);
    const rec = encodeRecord({ kind: 'data', objectNumber: 1 }, Buffer.from('123456789'));
    const expected = crc32cOf(rec.subarray(RECORD_HEADER_SIZE), crc32cOf(rec.subarray(0, RecordOffset.crc)));
    expect(rec.readUInt32BE(RecordOffset.crc)).toBe(expected);
    const fm = encodeRecord({ kind: 'filemark', objectNumber: 7 }, Buffer.alloc(0));
    expect(fm.readUInt32BE(RecordOffset.crc)).toBe(crc32cOf(fm.subarray(0, RecordOffset.crc)));
    expect(decodeRecordHeader(fm)).toMatchObject({ kind: 'filemark', payloadLength: 0, objectNumber: 7 });
  });

  it('detects a flipped payload bit and names both CRCs', () => {
    const rec = encodeRecord({ kind: 'data', objectNumber: 3 }, Buffer.alloc(100, 1));
    rec[RECORD_HEADER_SIZE + 50] ^= 0x10;
    const h = decodeRecordHeader(rec);
    if (typeof h === 'string') throw new Error(h);
    expect(checkRecordCrc(rec, h, rec.subarray(RECORD_HEADER_SIZE))).toMatch(
      /^CRC32C mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/,
    );
  });

  it('reads version-1 records (no epoch) as epoch 0 and refuses an epoch in them', () => {
    const v1 = encodeRecord({ kind: 'data', objectNumber: 9, version: 1 }, Buffer.from('old'));
    expect(v1[RecordOffset.version]).toBe(1);
    const h = decodeRecordHeader(v1);
    if (typeof h === 'string') throw new Error(h);
    expect(h).toMatchObject({ version: 1, epoch: 0, objectNumber: 9, payloadLength: 3 });
    expect(checkRecordCrc(v1, h, v1.subarray(RECORD_HEADER_SIZE))).toBeNull();
    v1.writeUInt32BE(5, RecordOffset.epoch);
    expect(decodeRecordHeader(v1)).toBe('reserved header bytes are not zero');
    expect(() =>
      encodeRecord({ kind: 'data', objectNumber: 1, version: 1, epoch: 2 }, Buffer.alloc(0)),
    ).toThrow(/no epoch/);
  });

  it('refuses headers that are not version-1 or version-2 records', () => {
    const rec = encodeRecord({ kind: 'data', objectNumber: 3 }, Buffer.alloc(4));
    const bad = (mutate: (b: Buffer) => void): string => {
      const b = Buffer.from(rec);
      mutate(b);
      const r = decodeRecordHeader(b);
      return typeof r === 'string' ? r : 'accepted';
    };
    expect(bad(() => undefined)).toBe('accepted');
    expect(bad((b) => b.writeUInt32BE(0, RecordOffset.magic))).toBe('bad record magic 0x00000000');
    expect(bad((b) => (b[RecordOffset.version] = 3))).toBe('unsupported record format version 3');
    expect(bad((b) => (b[RecordOffset.kind] = 9))).toBe('unknown record kind 9');
    expect(bad((b) => b.writeUInt32BE(0x0100_0000, RecordOffset.payloadLength))).toBe(
      'implausible payload length 16777216',
    );
    expect(bad((b) => (b[RecordOffset.reserved16] = 1))).toBe('reserved header bytes are not zero');
    expect(decodeRecordHeader(rec.subarray(0, 20))).toBe('short header (20 of 32 bytes)');
  });
});

describe('index entry codec', () => {
  it('round-trips and places fields at named offsets', () => {
    const w = new ByteWriter(INDEX_ENTRY_SIZE * 2);
    const e = {
      chunk: 3,
      offset: 0xfffffff0,
      payloadLength: 262144,
      kind: 'filemark' as const,
      flags: 0,
      bytesBefore: 18e12,
      fileNumber: 42,
    };
    encodeIndexEntry(w, INDEX_ENTRY_SIZE, e);
    expect(decodeIndexEntry(w.buf, INDEX_ENTRY_SIZE)).toEqual(e);
    expect(w.buf.readUInt32BE(INDEX_ENTRY_SIZE + IndexEntryOffset.chunk)).toBe(3);
    expect(w.buf.readUInt32BE(INDEX_ENTRY_SIZE + IndexEntryOffset.offset)).toBe(0xfffffff0);
    expect(w.buf.readUIntBE(INDEX_ENTRY_SIZE + IndexEntryOffset.bytesBefore, 6)).toBe(18e12);
    expect(w.buf.readUInt32BE(INDEX_ENTRY_SIZE + IndexEntryOffset.fileNumber)).toBe(42);
    expect(decodeIndexEntry(Buffer.alloc(INDEX_ENTRY_SIZE), 0)).toBe('index entry kind 0 unknown');
  });

  it('round-trips filemark entries and finds lower bounds', () => {
    const w = new ByteWriter(16);
    encodeFilemarkEntry(w, 8, 2 ** 40 + 5);
    expect(decodeFilemarkEntry(w.buf, 8)).toBe(2 ** 40 + 5);
    expect([0, 1, 5, 6, 9, 10].map((v) => lowerBound([1, 5, 9], v))).toEqual([0, 0, 1, 2, 2, 3]);
  });
});

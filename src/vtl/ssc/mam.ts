/**
 * Medium auxiliary memory: READ ATTRIBUTE and WRITE ATTRIBUTE (SPC-4 6.17 and 6.38, attributes
 * 7.4) over a table of the attributes an LTO drive reports. Each entry has the identifier, the
 * standard length and format (SPC-4 7.4.2 tables 'Device type attributes', 'Medium type
 * attributes', 'Host type attributes'; sg3_utils sg_read_attr lists the same), whether it is read
 * only, and where its value comes from: computed from the cartridge and drive, or stored in
 * `cartridge.json` (mam-store.ts). PBS drops attributes whose length is not the standard one
 * (clients.md 2), so every length here is exact.
 */
import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { TapeDrive } from './drive.js';
import type { SscContext } from './common.js';
import {
  DENSITY_ASSIGNING_ORGANIZATION,
  MEDIA_WIDTH_TENTHS_MM,
  mediaDensity,
  mediaGeneration,
} from './models.js';
import { SSC_SENSE } from './sense-codes.js';
import { isAttributeKey, storeAttribute, storedAttribute } from './mam-store.js';
import { partitionFigures } from './partitions.js';

/** SPC-4 7.4.1 attribute FORMAT field. */
export const AttributeFormat = { BINARY: 0b00, ASCII: 0b01, TEXT: 0b10 } as const;
type Format = (typeof AttributeFormat)[keyof typeof AttributeFormat];

const READ_ONLY = 0x80;
const MIB = 1 << 20;

export interface AttributeSpec {
  readonly id: number;
  readonly name: string;
  /** Standard length in bytes; null for VOLUME COHERENCY INFORMATION (variable). */
  readonly length: number | null;
  readonly format: Format;
  readonly readOnly: boolean;
  /**
   * Computed value for the partition asked (READ ATTRIBUTE PARTITION NUMBER), or null when the
   * attribute does not exist; absent: the stored value.
   */
  readonly value?: (drive: TapeDrive, image: TapeImage, partition: number) => Buffer | null;
}

function num(bytes: number, v: number | bigint): Buffer {
  const w = new ByteWriter(8);
  w.u64(BigInt(v));
  return w.buf.subarray(8 - bytes);
}
/** ASCII values are left-aligned and padded with spaces (SPC-4 7.4.1). */
function ascii(s: string, length: number): Buffer {
  const w = new ByteWriter(Buffer.alloc(length, 0x20));
  w.ascii(s.slice(0, length), Math.min(s.length, length));
  return w.buf;
}

/** Medium length in metres per LTO generation (LTO media data sheets). */
const MEDIUM_LENGTH_M: Record<number, number> = { 5: 846, 6: 846, 7: 960, 8: 960, 9: 1035, 10: 1035 };
const older = (image: TapeImage): boolean => (mediaGeneration(image.meta.mediaType)?.generation ?? 6) <= 5;
/** Cartridge memory size: 8 KiB on LTO-5, 16 KiB from LTO-6 (LTO media data sheets). */
const mamCapacity = (image: TapeImage): number => (older(image) ? 8192 : 16384);
/**
 * Host attribute space, what WRITE ATTRIBUTE may fill (MAM SPACE REMAINING counts it down):
 * 1 KiB on LTO-5, 4 KiB later. Either holds what PBS and LTFS write together (about 550 bytes).
 */
export const hostMamSpace = (image: TapeImage): number => (older(image) ? 1024 : 4096);

/** Bytes the stored host attributes take, headers included. */
function hostSpaceUsed(image: TapeImage): number {
  let n = 0;
  for (const [k, v] of Object.entries(image.meta.attributes)) {
    if (isAttributeKey(k) && parseInt(k, 16) >= 0x0800) n += 5 + v.length / 2;
  }
  return n;
}

const device = (
  id: number,
  name: string,
  length: number,
  format: Format,
  value?: AttributeSpec['value'],
): AttributeSpec => ({ id, name, length, format, readOnly: true, ...(value ? { value } : {}) });
const host = (id: number, name: string, length: number | null, format: Format): AttributeSpec => ({
  id,
  name,
  length,
  format,
  readOnly: false,
});
const { BINARY, ASCII, TEXT } = AttributeFormat;

/** The attribute table, ascending by identifier (READ ATTRIBUTE returns them in this order). */
export const ATTRIBUTES: readonly AttributeSpec[] = [
  // SPC-4: capacities of the partition the CDB names, in MiB.
  device(0x0000, 'REMAINING CAPACITY IN PARTITION', 8, BINARY, (_d, i, p) =>
    num(8, Math.floor(partitionFigures(i)[p].remaining / MIB)),
  ),
  device(0x0001, 'MAXIMUM CAPACITY IN PARTITION', 8, BINARY, (_d, i, p) =>
    num(8, Math.floor(i.partitionCapacities()[p] / MIB)),
  ),
  device(0x0002, 'TAPEALERT FLAGS', 8, BINARY, (d) => num(8, d.tapeAlertMask())),
  device(0x0003, 'LOAD COUNT', 8, BINARY, (_d, i) => num(8, i.meta.counters.loads)),
  device(0x0004, 'MAM SPACE REMAINING', 8, BINARY, (_d, i) => num(8, hostMamSpace(i) - hostSpaceUsed(i))),
  device(0x0005, 'ASSIGNING ORGANIZATION', 8, ASCII, () => ascii(DENSITY_ASSIGNING_ORGANIZATION, 8)),
  device(0x0006, 'FORMATTED DENSITY CODE', 1, BINARY, (_d, i) => density(i)),
  device(0x0007, 'INITIALIZATION COUNT', 2, BINARY, (_d, i) => storedAttribute(i.meta, 0x0007) ?? num(2, 0)),
  device(0x0008, 'VOLUME IDENTIFIER', 32, ASCII, (_d, i) => ascii(i.label, 32)),
  device(
    0x0009,
    'VOLUME CHANGE REFERENCE',
    4,
    BINARY,
    (_d, i) => storedAttribute(i.meta, 0x0009) ?? num(4, 0),
  ),
  device(0x020a, 'DEVICE VENDOR/SERIAL NUMBER AT LAST LOAD', 40, ASCII),
  device(0x020b, 'DEVICE VENDOR/SERIAL NUMBER AT LOAD-1', 40, ASCII),
  device(0x020c, 'DEVICE VENDOR/SERIAL NUMBER AT LOAD-2', 40, ASCII),
  device(0x020d, 'DEVICE VENDOR/SERIAL NUMBER AT LOAD-3', 40, ASCII),
  device(0x0220, 'TOTAL MBYTES WRITTEN IN MEDIUM LIFE', 8, BINARY, (_d, i) =>
    num(8, Math.floor(i.meta.counters.bytesWritten / MIB)),
  ),
  device(0x0221, 'TOTAL MBYTES READ IN MEDIUM LIFE', 8, BINARY, (_d, i) =>
    num(8, Math.floor(i.meta.counters.bytesRead / MIB)),
  ),
  device(0x0222, 'TOTAL MBYTES WRITTEN IN CURRENT/LAST LOAD', 8, BINARY, (d, i) =>
    num(8, Math.floor((i.meta.counters.bytesWritten - d.loadCounters.bytesWrittenAtLoad) / MIB)),
  ),
  device(0x0223, 'TOTAL MBYTES READ IN CURRENT/LAST LOAD', 8, BINARY, (d, i) =>
    num(8, Math.floor((i.meta.counters.bytesRead - d.loadCounters.bytesReadAtLoad) / MIB)),
  ),
  device(0x0400, 'MEDIUM MANUFACTURER', 8, ASCII, () => ascii('ISCSIVTL', 8)),
  device(0x0401, 'MEDIUM SERIAL NUMBER', 32, ASCII, (_d, i) => ascii(mediumSerial(i), 32)),
  device(0x0402, 'MEDIUM LENGTH', 4, BINARY, (_d, i) => {
    const g = mediaGeneration(i.meta.mediaType)?.generation;
    return num(4, g ? MEDIUM_LENGTH_M[g] : 0);
  }),
  device(0x0403, 'MEDIUM WIDTH', 4, BINARY, () => num(4, MEDIA_WIDTH_TENTHS_MM)),
  device(0x0404, 'ASSIGNING ORGANIZATION', 8, ASCII, () => ascii(DENSITY_ASSIGNING_ORGANIZATION, 8)),
  device(0x0405, 'MEDIUM DENSITY CODE', 1, BINARY, (_d, i) => density(i)),
  device(0x0406, 'MEDIUM MANUFACTURE DATE', 8, ASCII, (_d, i) =>
    ascii(i.meta.createdAt.slice(0, 10).replaceAll('-', ''), 8),
  ),
  device(0x0407, 'MAM CAPACITY', 8, BINARY, (_d, i) => num(8, mamCapacity(i))),
  // SPC-4 MEDIUM TYPE: 00h data, 01h cleaning, 80h write-once (WORM).
  device(0x0408, 'MEDIUM TYPE', 1, BINARY, (_d, i) =>
    num(1, i.meta.mediaType === 'CLEANING' ? 0x01 : mediaGeneration(i.meta.mediaType)?.worm ? 0x80 : 0x00),
  ),
  device(0x0409, 'MEDIUM TYPE INFORMATION', 2, BINARY, () => num(2, 0)),
  host(0x0800, 'APPLICATION VENDOR', 8, ASCII),
  host(0x0801, 'APPLICATION NAME', 32, ASCII),
  host(0x0802, 'APPLICATION VERSION', 8, ASCII),
  host(0x0803, 'USER MEDIUM TEXT LABEL', 160, TEXT),
  host(0x0804, 'DATE AND TIME LAST WRITTEN', 12, ASCII),
  host(0x0805, 'TEXT LOCALIZATION IDENTIFIER', 1, BINARY),
  host(0x0806, 'BARCODE', 32, ASCII),
  host(0x0807, 'OWNING HOST TEXTUAL NAME', 80, TEXT),
  host(0x0808, 'MEDIA POOL', 160, TEXT),
  host(0x0809, 'PARTITION USER TEXT LABEL', 16, ASCII),
  host(0x080a, 'LOAD/UNLOAD AT PARTITION', 1, BINARY),
  host(0x080b, 'APPLICATION FORMAT VERSION', 16, ASCII),
  host(0x080c, 'VOLUME COHERENCY INFORMATION', null, BINARY),
  host(0x0820, 'MEDIUM GLOBALLY UNIQUE IDENTIFIER', 36, BINARY),
  host(0x0821, 'MEDIA POOL GLOBALLY UNIQUE IDENTIFIER', 36, BINARY),
];

const BY_ID = new Map(ATTRIBUTES.map((a) => [a.id, a]));

function density(image: TapeImage): Buffer | null {
  const d = mediaDensity(image.meta.mediaType);
  return d ? num(1, d.code) : null;
}

/** A stable 10-character serial per cartridge (its label and creation time). */
function mediumSerial(image: TapeImage): string {
  return createHash('sha256')
    .update(`${image.label}\0${image.meta.createdAt}`)
    .digest('hex')
    .slice(0, 10)
    .toUpperCase();
}

function attributeValue(
  spec: AttributeSpec,
  drive: TapeDrive,
  image: TapeImage,
  partition: number,
): Buffer | null {
  return spec.value ? spec.value(drive, image, partition) : storedAttribute(image.meta, spec.id, partition);
}

/** One attribute in the SPC-4 7.4.1 format: identifier, READ ONLY + FORMAT, length, value. */
function encodeAttribute(w: ByteWriter, spec: AttributeSpec, value: Buffer): void {
  w.u16(spec.id)
    .u8((spec.readOnly ? READ_ONLY : 0) | spec.format)
    .u16(value.length)
    .bytes(value);
}

const ServiceAction = {
  ATTRIBUTE_VALUES: 0x00,
  ATTRIBUTE_LIST: 0x01,
  LOGICAL_VOLUME_LIST: 0x02,
  PARTITION_LIST: 0x03,
  SUPPORTED_ATTRIBUTES: 0x05,
} as const;

interface AttributeCdb {
  readonly serviceAction: number;
  readonly volume: number;
  readonly partition: number;
  readonly first: number;
  readonly length: number;
}

function decodeAttributeCdb(cdb: Buffer): AttributeCdb {
  const r = new ByteReader(cdb, 1);
  const serviceAction = r.u8() & 0x1f;
  const volume = r.skip(3).u8();
  const partition = r.skip(1).u8();
  const first = r.u16();
  return { serviceAction, volume, partition, first, length: r.u32() };
}

/** The cartridge whose MAM is read: any threaded one (also cleaning and unreadable ones). */
function mamImage(drive: TapeDrive): TapeImage {
  const image = drive.image;
  if (!image) throw new SenseError(SENSE.MEDIUM_NOT_PRESENT);
  return image;
}

/** SPC-4 6.17: the volume and partition must exist (INVALID FIELD IN CDB at bytes 5 / 7). */
function checkVolumePartition(q: AttributeCdb, image: TapeImage): void {
  if (q.volume !== 0) throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 5 });
  if (q.partition >= image.partitionCount)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 7 });
}

function listOf(ids: number[]): Buffer {
  const w = new ByteWriter(4 + 2 * ids.length);
  w.u32(2 * ids.length);
  for (const id of ids) w.u16(id);
  return w.buf;
}

/** READ ATTRIBUTE (SPC-4 6.17). AVAILABLE DATA always gives the full length; the data is cut to the allocation. */
export function readAttribute(ctx: SscContext): Promise<HandlerResult> {
  const q = decodeAttributeCdb(ctx.cdb);
  const drive = ctx.device;
  return drive.exclusive(() => {
    const image = mamImage(drive);
    let data: Buffer;
    switch (q.serviceAction) {
      case ServiceAction.ATTRIBUTE_VALUES: {
        checkVolumePartition(q, image);
        const parts: [AttributeSpec, Buffer][] = [];
        for (const spec of ATTRIBUTES) {
          if (spec.id < q.first) continue;
          const v = attributeValue(spec, drive, image, q.partition);
          if (v) parts.push([spec, v]);
        }
        const w = new ByteWriter(4 + parts.reduce((n, [, v]) => n + 5 + v.length, 0));
        w.u32(w.buf.length - 4);
        for (const [spec, v] of parts) encodeAttribute(w, spec, v);
        data = w.buf;
        break;
      }
      case ServiceAction.ATTRIBUTE_LIST:
        checkVolumePartition(q, image);
        data = listOf(
          ATTRIBUTES.filter(
            (a) => a.id >= q.first && attributeValue(a, drive, image, q.partition) !== null,
          ).map((a) => a.id),
        );
        break;
      case ServiceAction.SUPPORTED_ATTRIBUTES:
        checkVolumePartition(q, image);
        data = listOf(ATTRIBUTES.filter((a) => a.id >= q.first).map((a) => a.id));
        break;
      case ServiceAction.LOGICAL_VOLUME_LIST:
      case ServiceAction.PARTITION_LIST: {
        // AVAILABLE DATA (0002h), first number, how many (SPC-4 6.17.3, 6.17.4).
        const count = q.serviceAction === ServiceAction.PARTITION_LIST ? image.partitionCount : 1;
        const w = new ByteWriter(4);
        data = w.u16(2).u8(0).u8(count).buf;
        break;
      }
      default:
        throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 4 });
    }
    return data.length > q.length ? data.subarray(0, q.length) : data;
  });
}

const invalidAttribute = (fieldPointer: number): SenseError =>
  new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, { inParameterList: true, fieldPointer });

/** Largest VOLUME COHERENCY INFORMATION accepted (LTFS writes 70 bytes). */
const MAX_VARIABLE_LENGTH = 1024;

interface AttributeWrite {
  readonly spec: AttributeSpec;
  readonly value: Buffer | null;
}

/**
 * Parses and checks the whole WRITE ATTRIBUTE parameter list before anything changes (SPC-4
 * 6.38: on any error no attribute is changed). Each refusal is ILLEGAL REQUEST, INVALID FIELD IN
 * PARAMETER LIST pointing at the offending field: an attribute that is read only or not
 * supported (its identifier), a length other than the standard one, a wrong format, identifiers
 * out of ascending order.
 */
function parseWrites(list: Buffer): AttributeWrite[] {
  if (list.length < 4) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
  const dataLength = list.readUInt32BE(0);
  if (4 + dataLength > list.length) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
  const out: AttributeWrite[] = [];
  let off = 4;
  let last = -1;
  while (off < 4 + dataLength) {
    if (off + 5 > 4 + dataLength) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
    const r = new ByteReader(list, off);
    const id = r.u16();
    const format = r.u8() & 0x03;
    const length = r.u16();
    if (off + 5 + length > 4 + dataLength) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
    const spec = BY_ID.get(id);
    if (!spec || spec.readOnly || id <= last) throw invalidAttribute(off);
    if (length !== 0) {
      const ok = spec.length === null ? length <= MAX_VARIABLE_LENGTH : length === spec.length;
      if (!ok) throw invalidAttribute(off + 3);
      if (format !== spec.format) throw invalidAttribute(off + 2);
    }
    out.push({ spec, value: length === 0 ? null : Buffer.from(list.subarray(off + 5, off + 5 + length)) });
    last = id;
    off += 5 + length;
  }
  return out;
}

/**
 * WRITE ATTRIBUTE (SPC-4 6.38): host attributes only; a zero length deletes one (PBS clears
 * 0800h-0803h and 0808h after a format). WTC=1 makes the change durable before GOOD; otherwise it
 * is written with the cartridge's metadata at unload. No room: 55/06 AUXILIARY MEMORY OUT OF SPACE.
 */
export function writeAttribute(ctx: SscContext): Promise<HandlerResult> {
  const q = decodeAttributeCdb(ctx.cdb);
  const wtc = (ctx.cdb[1] & 0x01) !== 0;
  const drive = ctx.device;
  return drive.exclusive(async () => {
    const image = mamImage(drive);
    checkVolumePartition(q, image);
    const list = (ctx.task.dataOut ?? Buffer.alloc(0)).subarray(0, q.length);
    if (q.length === 0) return;
    if (list.length < q.length) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
    const writes = parseWrites(list);
    const meta = image.meta;
    const before = { ...meta.attributes };
    for (const { spec, value } of writes) storeAttribute(meta, spec.id, value, q.partition);
    if (hostSpaceUsed(image) > hostMamSpace(image)) {
      for (const k of Object.keys(meta.attributes)) delete meta.attributes[k];
      Object.assign(meta.attributes, before);
      throw new SenseError(SSC_SENSE.AUXILIARY_MEMORY_OUT_OF_SPACE);
    }
    if (wtc) await image.saveMeta();
  });
}

/**
 * Positioning: REWIND, SPACE(6)/(16), LOCATE(10)/(16) and READ POSITION (SSC-4). Every
 * position is the image's logical object number (blocks and filemarks from BOP), so SPACE,
 * LOCATE and READ POSITION agree with each other and never scan the tape (DESIGN.md).
 */
import { inProgrammableEarlyWarningZone } from './pew.js';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { TapeImage, TapePosition } from '../image/types.js';
import { spaceStop } from './common.js';
import type { SscContext } from './common.js';

/** REWIND (SSC-4): sync first (DESIGN.md sync rules), then BOP. IMMED changes nothing here. */
export async function rewind(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  await image.sync();
  // A rewind from anywhere but BOP is one more pass over the beginning of medium (log 17h 0101h).
  ctx.device.notePass(image);
  await image.rewind();
}

/** SPACE CODE values (SSC-4 table 'Code field definition'). */
export const SpaceCode = {
  LOGICAL_BLOCKS: 0x0,
  FILEMARKS: 0x1,
  SEQUENTIAL_FILEMARKS: 0x2,
  END_OF_DATA: 0x3,
} as const;

interface SpaceCdb {
  readonly code: number;
  readonly count: number;
}

function decodeSpace6(cdb: Buffer): SpaceCdb {
  const r = new ByteReader(cdb, 1);
  const code = r.u8() & 0x0f;
  // COUNT is a 24-bit two's complement number: negative spaces towards BOP.
  return { code, count: r.s24() };
}

function decodeSpace16(cdb: Buffer): SpaceCdb {
  const r = new ByteReader(cdb, 1);
  const code = r.u8() & 0x0f;
  r.skip(2);
  return { code, count: Number(r.s64()) };
}

/**
 * Sequential filemarks (2) and the obsolete setmark codes are not supported: INVALID FIELD IN
 * CDB at the CODE field, so st and Amanda fall back to plain filemark spacing.
 */
function validateSpaceCode({ code }: SpaceCdb): void {
  if (code !== SpaceCode.LOGICAL_BLOCKS && code !== SpaceCode.FILEMARKS && code !== SpaceCode.END_OF_DATA) {
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 3 });
  }
}

export const validateSpace6 = (ctx: SscContext): void => validateSpaceCode(decodeSpace6(ctx.cdb));
export const validateSpace16 = (ctx: SscContext): void => validateSpaceCode(decodeSpace16(ctx.cdb));

export const space6 = (ctx: SscContext, image: TapeImage): Promise<HandlerResult> =>
  space(ctx, image, decodeSpace6(ctx.cdb));
export const space16 = (ctx: SscContext, image: TapeImage): Promise<HandlerResult> =>
  space(ctx, image, decodeSpace16(ctx.cdb));

/**
 * SSC-4 SPACE: forward over a filemark while spacing blocks ends on its EOM side, backward on
 * its BOP side, with FILEMARK 00/01 and the blocks not spaced (PBS `check_filemark` spaces -1
 * block after SPACE EOD and expects exactly that); EOD and BOP end the command early too.
 */
async function space(ctx: SscContext, image: TapeImage, { code, count }: SpaceCdb): Promise<HandlerResult> {
  if (code === SpaceCode.END_OF_DATA) {
    await image.spaceToEod();
    return;
  }
  // A zero count is no motion (SSC-4): not an error.
  if (count === 0) return;
  const result =
    code === SpaceCode.LOGICAL_BLOCKS ? await image.spaceBlocks(count) : await image.spaceFilemarks(count);
  const stop = spaceStop(ctx.device, image, result, count);
  if (stop) throw stop;
}

const LOCATE_CP = 0x02;

/** LOCATE DEST_TYPE (SSC-4 LOCATE(16)): 000b logical object identifier, 001b logical file identifier. */
export const DestType = { LOGICAL_OBJECT: 0, LOGICAL_FILE: 1 } as const;

interface LocateCdb {
  readonly changePartition: boolean;
  readonly partition: number;
  readonly destType: number;
  readonly identifier: number;
  /** Where PARTITION sits, for the field pointer. */
  readonly partitionByte: number;
}

function decodeLocate10(cdb: Buffer): LocateCdb {
  const r = new ByteReader(cdb, 1);
  // BT=1 asks for device-specific block addresses; ours are the logical object numbers anyway.
  const flags = r.u8();
  r.skip(1);
  const identifier = r.u32();
  r.skip(1);
  return {
    changePartition: (flags & LOCATE_CP) !== 0,
    partition: r.u8(),
    destType: DestType.LOGICAL_OBJECT,
    identifier,
    partitionByte: 8,
  };
}

function decodeLocate16(cdb: Buffer): LocateCdb {
  const r = new ByteReader(cdb, 1);
  const flags = r.u8();
  r.skip(1); // BAM: implicit and explicit address mode locate the same objects here
  const partition = r.u8();
  const identifier = Number(r.u64());
  return {
    changePartition: (flags & LOCATE_CP) !== 0,
    partition,
    destType: (flags >> 3) & 0x07,
    identifier,
    partitionByte: 3,
  };
}

function validateLocate(l: LocateCdb): void {
  if (l.destType !== DestType.LOGICAL_OBJECT && l.destType !== DestType.LOGICAL_FILE) {
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 5 });
  }
}

export const validateLocate10 = (ctx: SscContext): void => validateLocate(decodeLocate10(ctx.cdb));
export const validateLocate16 = (ctx: SscContext): void => validateLocate(decodeLocate16(ctx.cdb));

export const locate10 = (ctx: SscContext, image: TapeImage): Promise<HandlerResult> =>
  locate(ctx, image, decodeLocate10(ctx.cdb));
export const locate16 = (ctx: SscContext, image: TapeImage): Promise<HandlerResult> =>
  locate(ctx, image, decodeLocate16(ctx.cdb));

/**
 * LOCATE to a logical object, or (DEST_TYPE 001b) to the BOP side of logical file N, i.e. just
 * after filemark N-1: the IBM behaviour PBS `locate_file` needs no offset for. A destination
 * beyond end of data leaves the head at EOD with BLANK CHECK 00/05 (LTFS locates to the largest
 * block number to find EOD).
 *
 * PARTITION counts only with CP=1 (SSC-4 LOCATE): the head moves to that partition first (LTFS
 * changes partitions with LOCATE(16), st's MTSETPART with LOCATE(10)). A partition the cartridge
 * does not have is ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at PARTITION, as drive
 * references list "an illegal partition number is requested" under ILLEGAL REQUEST; the head
 * does not move.
 */
async function locate(ctx: SscContext, image: TapeImage, l: LocateCdb): Promise<HandlerResult> {
  if (l.changePartition && l.partition >= image.partitionCount) {
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: l.partitionByte });
  }
  const partition = l.changePartition ? l.partition : undefined;
  let result;
  if (l.destType === DestType.LOGICAL_FILE) {
    if (partition !== undefined) await image.locate(0, partition);
    result = await image.locateFile(l.identifier);
  } else {
    result = await image.locate(l.identifier, partition);
  }
  if (result.stop === 'eod') {
    throw new SenseError(SENSE.END_OF_DATA_DETECTED, { eom: ctx.device.beyondEarlyWarning(image) });
  }
}

/** READ POSITION service actions (SSC-4 READ POSITION). */
export const ReadPositionForm = {
  SHORT_BLOCK_ID: 0x00,
  SHORT_VENDOR_SPECIFIC: 0x01,
  LONG: 0x06,
  EXTENDED: 0x08,
} as const;

export function validateReadPosition(ctx: SscContext): void {
  const sa = ctx.cdb[1] & 0x1f;
  if (!Object.values(ReadPositionForm).includes(sa as 0)) {
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 4 });
  }
}

const BOP = 0x80;
const EOP = 0x40;
const BPU = 0x04;
const BPEW = 0x01;

/**
 * Byte 0 flags shared by the forms: BOP; EOP and BPEW between early warning and the end of
 * partition (LTFS reads either as early warning); BPEW alone in the programmable early-warning
 * zone (pew.ts; `pew`). Nothing is ever held in a buffer the host cannot see, so the buffer
 * counts are valid zeros (LOCU = BYCU = 0).
 */
function positionFlags(p: TapePosition, pew: boolean): number {
  return (p.bop ? BOP : 0) | (p.beyondEarlyWarning ? EOP | BPEW : 0) | (pew ? BPEW : 0);
}

export function readPosition(ctx: SscContext, image: TapeImage): HandlerResult {
  const r = new ByteReader(ctx.cdb, 1);
  const sa = r.u8() & 0x1f;
  const allocation = r.skip(5).u16();
  const p = image.position();
  const pew = p.eod && inProgrammableEarlyWarningZone(ctx.device, image);
  switch (sa) {
    case ReadPositionForm.LONG:
      return encodeLong(p, pew);
    case ReadPositionForm.EXTENDED: {
      const data = encodeExtended(p, pew);
      return data.subarray(0, Math.min(data.length, allocation));
    }
    default:
      return encodeShort(p, pew);
  }
}

/**
 * Short form, 20 bytes (st MTTELL/MTIOCPOS, tapeinfo): first and last logical object locations
 * are the position. Beyond 32 bits the location is unknown (BPU) rather than wrong.
 */
function encodeShort(p: TapePosition, pew: boolean): Buffer {
  const w = new ByteWriter(20);
  const fits = p.objectNumber <= 0xffffffff;
  w.u8(positionFlags(p, pew) | (fits ? 0 : BPU))
    .u8(p.partition)
    .skip(2);
  w.u32(fits ? p.objectNumber : 0).u32(fits ? p.objectNumber : 0);
  w.skip(1).u24(0).u32(0);
  return w.buf;
}

/** Long form, exactly 32 bytes (PBS and LTFS insist): partition, object number, file id. */
function encodeLong(p: TapePosition, pew: boolean): Buffer {
  const w = new ByteWriter(32);
  w.u8(positionFlags(p, pew) & (BOP | EOP | BPEW)).skip(3);
  w.u32(p.partition).u64(p.objectNumber).u64(p.fileNumber).u64(0);
  return w.buf;
}

/** Extended form, 32 bytes: ADDITIONAL LENGTH 1Ch, 64-bit first/last locations, buffer counts. */
function encodeExtended(p: TapePosition, pew: boolean): Buffer {
  const w = new ByteWriter(32);
  w.u8(positionFlags(p, pew)).u8(p.partition).u16(0x1c);
  w.skip(1).u24(0).u64(p.objectNumber).u64(p.objectNumber).u64(0);
  return w.buf;
}

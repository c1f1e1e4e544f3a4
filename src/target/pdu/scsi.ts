/**
 * SCSI Command (RFC 7143 11.3) with its extended-CDB AHS (11.3.5.1, 11.2.2) and SCSI Response
 * (11.4) with sense data behind a 2-byte SenseLength in the data segment (11.4.7).
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import {
  BhsOffset,
  FINAL_BIT,
  IMMEDIATE_BIT,
  dataSegmentLengthOf,
  decodeLun,
  encodeLun,
  headerWriter,
} from './bhs.js';
import { Opcode } from './constants.js';

const CommandFlag = { READ: 0x40, WRITE: 0x20, ATTR_MASK: 0x07 } as const;

const CommandOffset = {
  LUN: 8,
  EDTL: 20,
  CMD_SN: 24,
  EXP_STAT_SN: 28,
  CDB: 32,
} as const;
const CDB_IN_BHS = 16;

/** RFC 7143 11.2.2: AHS types. */
export const AhsType = { EXTENDED_CDB: 1, BIDI_READ_LENGTH: 2 } as const;

/** RFC 7143 11.3.1.1: task attributes. */
export const TaskAttr = { UNTAGGED: 0, SIMPLE: 1, ORDERED: 2, HEAD_OF_QUEUE: 3, ACA: 4 } as const;

export interface ScsiCommand {
  immediate: boolean;
  final: boolean;
  read: boolean;
  write: boolean;
  attribute: number;
  lun: number;
  itt: number;
  expectedLength: number;
  cmdSN: number;
  expStatSN: number;
  cdb: Buffer;
  /** Expected read length of a bidirectional command (AHS type 2), else null. */
  bidiReadLength: number | null;
  dataLength: number;
}

/** Thrown for a malformed AHS; the caller answers Reject 0x09 (invalid PDU field). */
export class AhsError extends Error {}

export function decodeScsiCommand(bhs: Buffer, ahs: Buffer | null): ScsiCommand {
  const r = new ByteReader(bhs);
  const flags = bhs[BhsOffset.FLAGS];
  let cdb = bhs.subarray(CommandOffset.CDB, CommandOffset.CDB + CDB_IN_BHS);
  let bidiReadLength: number | null = null;
  if (ahs) {
    const a = new ByteReader(ahs);
    while (a.remaining >= 4) {
      const length = a.u16();
      const type = a.u8();
      a.skip(1);
      // AHSLength counts the bytes after the reserved byte plus that byte (RFC 7143 11.2.2).
      const body = length - 1;
      if (body < 0 || body > a.remaining) throw new AhsError(`AHS length ${length} overruns the AHS`);
      if (type === AhsType.EXTENDED_CDB) {
        cdb = Buffer.concat([cdb, a.bytes(body)]);
      } else if (type === AhsType.BIDI_READ_LENGTH) {
        if (length !== 5) throw new AhsError(`bidirectional read length AHS of length ${length}`);
        bidiReadLength = a.u32();
      } else {
        throw new AhsError(`unknown AHS type ${type}`);
      }
      a.skip((4 - ((length + 3) & 3)) & 3);
    }
  }
  return {
    immediate: (bhs[0] & IMMEDIATE_BIT) !== 0,
    final: (flags & FINAL_BIT) !== 0,
    read: (flags & CommandFlag.READ) !== 0,
    write: (flags & CommandFlag.WRITE) !== 0,
    attribute: flags & CommandFlag.ATTR_MASK,
    lun: decodeLun(bhs, CommandOffset.LUN),
    itt: r.seek(BhsOffset.ITT).u32(),
    expectedLength: r.seek(CommandOffset.EDTL).u32(),
    cmdSN: r.u32(),
    expStatSN: r.u32(),
    cdb,
    bidiReadLength,
    dataLength: dataSegmentLengthOf(bhs),
  };
}

/** Encodes the BHS plus, for CDBs longer than 16 bytes, the extended-CDB AHS. */
export function encodeScsiCommand(
  p: Omit<ScsiCommand, 'dataLength' | 'bidiReadLength'>,
  dataLength: number,
): Buffer {
  let ahs: Buffer | null = null;
  if (p.cdb.length > CDB_IN_BHS) {
    const extra = p.cdb.length - CDB_IN_BHS;
    const aw = new ByteWriter(4 + extra + ((4 - (extra & 3)) & 3));
    aw.u16(extra + 1)
      .u8(AhsType.EXTENDED_CDB)
      .u8(0)
      .bytes(p.cdb.subarray(CDB_IN_BHS));
    ahs = aw.buf;
  }
  const flags =
    (p.final ? FINAL_BIT : 0) |
    (p.read ? CommandFlag.READ : 0) |
    (p.write ? CommandFlag.WRITE : 0) |
    (p.attribute & CommandFlag.ATTR_MASK);
  const w = headerWriter(Opcode.SCSI_COMMAND, flags, dataLength, { immediate: p.immediate, ahs });
  encodeLun(p.lun, w.buf, CommandOffset.LUN);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.expectedLength).u32(p.cmdSN).u32(p.expStatSN);
  w.bytes(p.cdb.subarray(0, CDB_IN_BHS));
  return w.buf;
}

/** RFC 7143 11.4.1: the residual flags of SCSI Response byte 1 (bit 7 is always 1). */
export const ResidualFlag = {
  BIDI_OVERFLOW: 0x10,
  BIDI_UNDERFLOW: 0x08,
  OVERFLOW: 0x04,
  UNDERFLOW: 0x02,
} as const;

const ResponseOffset = {
  RESPONSE: 2,
  STATUS: 3,
  SNACK_TAG: 20,
  STAT_SN: 24,
  EXP_CMD_SN: 28,
  MAX_CMD_SN: 32,
  EXP_DATA_SN: 36,
  BIDI_RESIDUAL: 40,
  RESIDUAL: 44,
} as const;

export interface ScsiResponsePdu {
  overflow: boolean;
  underflow: boolean;
  response: number;
  status: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  expDataSN: number;
  residualCount: number;
  dataLength: number;
}

export function encodeScsiResponse(p: Omit<ScsiResponsePdu, 'dataLength'>, dataLength: number): Buffer {
  const flags =
    FINAL_BIT | (p.overflow ? ResidualFlag.OVERFLOW : 0) | (p.underflow ? ResidualFlag.UNDERFLOW : 0);
  const w = headerWriter(Opcode.SCSI_RESPONSE, flags, dataLength);
  w.seek(ResponseOffset.RESPONSE).u8(p.response).u8(p.status);
  w.seek(BhsOffset.ITT).u32(p.itt);
  w.seek(ResponseOffset.STAT_SN).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN).u32(p.expDataSN);
  w.seek(ResponseOffset.RESIDUAL).u32(p.residualCount);
  return w.buf;
}

export function decodeScsiResponse(bhs: Buffer): ScsiResponsePdu {
  const r = new ByteReader(bhs);
  const flags = bhs[BhsOffset.FLAGS];
  return {
    overflow: (flags & ResidualFlag.OVERFLOW) !== 0,
    underflow: (flags & ResidualFlag.UNDERFLOW) !== 0,
    response: bhs[ResponseOffset.RESPONSE],
    status: bhs[ResponseOffset.STATUS],
    itt: r.seek(BhsOffset.ITT).u32(),
    statSN: r.seek(ResponseOffset.STAT_SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    expDataSN: r.u32(),
    residualCount: r.seek(ResponseOffset.RESIDUAL).u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

/** RFC 7143 11.4.7.2: the data segment of a SCSI Response carrying sense data. */
export function encodeSenseSegment(sense: Buffer): Buffer {
  const b = Buffer.allocUnsafe(2 + sense.length);
  b.writeUInt16BE(sense.length, 0);
  sense.copy(b, 2);
  return b;
}

/** Returns the sense bytes of a SCSI Response data segment, or null when there are none. */
export function decodeSenseSegment(data: Buffer | null): Buffer | null {
  if (!data || data.length < 2) return null;
  const length = data.readUInt16BE(0);
  if (length === 0) return null;
  return data.subarray(2, 2 + length);
}

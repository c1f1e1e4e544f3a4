/**
 * Data-Out (RFC 7143 11.7), Data-In (11.7) and R2T (11.8). These are the hot-path PDUs, so the
 * Data-In and R2T encoders write straight into a fresh header without intermediate objects.
 */
import { ByteReader } from '../../util/bytes.js';
import { BhsOffset, FINAL_BIT, dataSegmentLengthOf, decodeLun, encodeLun, headerWriter } from './bhs.js';
import { Opcode } from './constants.js';

const DataOffset = {
  STATUS: 3,
  LUN: 8,
  TTT: 20,
  STAT_SN: 24,
  EXP_STAT_SN: 28,
  EXP_CMD_SN: 28,
  MAX_CMD_SN: 32,
  DATA_SN: 36,
  BUFFER_OFFSET: 40,
  RESIDUAL: 44,
} as const;

/** RFC 7143 11.7.1: Data-In flags F, A, O, U, S. */
export const DataInFlag = {
  FINAL: FINAL_BIT,
  ACKNOWLEDGE: 0x40,
  OVERFLOW: 0x04,
  UNDERFLOW: 0x02,
  STATUS: 0x01,
} as const;

export interface DataOut {
  final: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  expStatSN: number;
  dataSN: number;
  bufferOffset: number;
  dataLength: number;
}

export function decodeDataOut(bhs: Buffer): DataOut {
  const r = new ByteReader(bhs);
  return {
    final: (bhs[BhsOffset.FLAGS] & FINAL_BIT) !== 0,
    lun: bhs.subarray(DataOffset.LUN, DataOffset.LUN + 8),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.seek(DataOffset.TTT).u32(),
    expStatSN: r.seek(DataOffset.EXP_STAT_SN).u32(),
    dataSN: r.seek(DataOffset.DATA_SN).u32(),
    bufferOffset: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export function encodeDataOut(p: Omit<DataOut, 'dataLength'>, dataLength: number): Buffer {
  const w = headerWriter(Opcode.DATA_OUT, p.final ? FINAL_BIT : 0, dataLength);
  w.seek(DataOffset.LUN).bytes(p.lun);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt);
  w.seek(DataOffset.EXP_STAT_SN).u32(p.expStatSN);
  w.seek(DataOffset.DATA_SN).u32(p.dataSN).u32(p.bufferOffset);
  return w.buf;
}

export interface DataIn {
  final: boolean;
  acknowledge: boolean;
  overflow: boolean;
  underflow: boolean;
  /** S bit: the PDU carries the command's status (phase collapse, RFC 7143 11.7.4). */
  hasStatus: boolean;
  status: number;
  lun: number;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataSN: number;
  bufferOffset: number;
  residualCount: number;
  dataLength: number;
}

export function encodeDataIn(p: Omit<DataIn, 'dataLength'>, dataLength: number): Buffer {
  const flags =
    (p.final ? DataInFlag.FINAL : 0) |
    (p.acknowledge ? DataInFlag.ACKNOWLEDGE : 0) |
    (p.overflow ? DataInFlag.OVERFLOW : 0) |
    (p.underflow ? DataInFlag.UNDERFLOW : 0) |
    (p.hasStatus ? DataInFlag.STATUS : 0);
  const w = headerWriter(Opcode.DATA_IN, flags, dataLength);
  w.seek(DataOffset.STATUS).u8(p.hasStatus ? p.status : 0);
  encodeLun(p.lun, w.buf, DataOffset.LUN);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  w.u32(p.dataSN).u32(p.bufferOffset).u32(p.residualCount);
  return w.buf;
}

export function decodeDataIn(bhs: Buffer): DataIn {
  const r = new ByteReader(bhs);
  const flags = bhs[BhsOffset.FLAGS];
  return {
    final: (flags & DataInFlag.FINAL) !== 0,
    acknowledge: (flags & DataInFlag.ACKNOWLEDGE) !== 0,
    overflow: (flags & DataInFlag.OVERFLOW) !== 0,
    underflow: (flags & DataInFlag.UNDERFLOW) !== 0,
    hasStatus: (flags & DataInFlag.STATUS) !== 0,
    status: bhs[DataOffset.STATUS],
    lun: decodeLun(bhs, DataOffset.LUN),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.u32(),
    statSN: r.u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    dataSN: r.u32(),
    bufferOffset: r.u32(),
    residualCount: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

const R2TOffset = {
  LUN: 8,
  TTT: 20,
  STAT_SN: 24,
  R2T_SN: 36,
  BUFFER_OFFSET: 40,
  DESIRED_LENGTH: 44,
} as const;

export interface R2T {
  lun: number;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  r2tSN: number;
  bufferOffset: number;
  desiredLength: number;
}

export function encodeR2T(p: R2T): Buffer {
  const w = headerWriter(Opcode.R2T, FINAL_BIT, 0);
  encodeLun(p.lun, w.buf, R2TOffset.LUN);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  w.seek(R2TOffset.R2T_SN).u32(p.r2tSN).u32(p.bufferOffset).u32(p.desiredLength);
  return w.buf;
}

export function decodeR2T(bhs: Buffer): R2T {
  const r = new ByteReader(bhs);
  return {
    lun: decodeLun(bhs, R2TOffset.LUN),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.seek(R2TOffset.TTT).u32(),
    statSN: r.seek(R2TOffset.STAT_SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    r2tSN: r.seek(R2TOffset.R2T_SN).u32(),
    bufferOffset: r.u32(),
    desiredLength: r.u32(),
  };
}

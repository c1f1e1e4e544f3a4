/**
 * Login and Text PDUs (RFC 7143 11.10-11.13): one codec per BHS variant, named offsets.
 */
import { ByteReader } from '../../util/bytes.js';
import { BhsOffset, FINAL_BIT, dataSegmentLengthOf, headerWriter } from './bhs.js';
import { Opcode } from './constants.js';

const LoginFlag = { TRANSIT: 0x80, CONTINUE: 0x40 } as const;

/** RFC 7143 11.12: Login Request. */
const LoginRequestOffset = {
  VERSION_MAX: 2,
  VERSION_MIN: 3,
  ISID: 8,
  TSIH: 14,
  CID: 20,
  CMD_SN: 24,
  EXP_STAT_SN: 28,
} as const;

/** RFC 7143 11.13: Login Response. */
const LoginResponseOffset = {
  VERSION_MAX: 2,
  VERSION_ACTIVE: 3,
  ISID: 8,
  TSIH: 14,
  STAT_SN: 24,
  EXP_CMD_SN: 28,
  MAX_CMD_SN: 32,
  STATUS_CLASS: 36,
  STATUS_DETAIL: 37,
} as const;

export interface LoginRequest {
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  /** The 6-byte ISID as a 48-bit integer. */
  isid: number;
  tsih: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
  dataLength: number;
}

export interface LoginResponse {
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionActive: number;
  isid: number;
  tsih: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  /** Status-Class << 8 | Status-Detail (RFC 7143 11.13.5). */
  status: number;
  dataLength: number;
}

function stageFlags(p: { transit: boolean; continue: boolean; csg: number; nsg: number }): number {
  return (
    (p.transit ? LoginFlag.TRANSIT : 0) |
    (p.continue ? LoginFlag.CONTINUE : 0) |
    ((p.csg & 3) << 2) |
    (p.transit ? p.nsg & 3 : 0)
  );
}

function decodeStageFlags(flags: number): { transit: boolean; continue: boolean; csg: number; nsg: number } {
  return {
    transit: (flags & LoginFlag.TRANSIT) !== 0,
    continue: (flags & LoginFlag.CONTINUE) !== 0,
    csg: (flags >> 2) & 3,
    nsg: flags & 3,
  };
}

export function decodeLoginRequest(bhs: Buffer): LoginRequest {
  const r = new ByteReader(bhs);
  return {
    ...decodeStageFlags(bhs[BhsOffset.FLAGS]),
    versionMax: bhs[LoginRequestOffset.VERSION_MAX],
    versionMin: bhs[LoginRequestOffset.VERSION_MIN],
    isid: r.seek(LoginRequestOffset.ISID).u48(),
    tsih: r.seek(LoginRequestOffset.TSIH).u16(),
    itt: r.seek(BhsOffset.ITT).u32(),
    cid: r.seek(LoginRequestOffset.CID).u16(),
    cmdSN: r.seek(LoginRequestOffset.CMD_SN).u32(),
    expStatSN: r.seek(LoginRequestOffset.EXP_STAT_SN).u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export function encodeLoginRequest(p: Omit<LoginRequest, 'dataLength'>, dataLength: number): Buffer {
  // RFC 7143 11.12: the I bit is always 1 in a Login Request.
  const w = headerWriter(Opcode.LOGIN_REQUEST, stageFlags(p), dataLength, { immediate: true });
  w.seek(LoginRequestOffset.VERSION_MAX).u8(p.versionMax).u8(p.versionMin);
  w.seek(LoginRequestOffset.ISID).u48(p.isid).u16(p.tsih);
  w.seek(BhsOffset.ITT).u32(p.itt);
  w.seek(LoginRequestOffset.CID).u16(p.cid);
  w.seek(LoginRequestOffset.CMD_SN).u32(p.cmdSN).u32(p.expStatSN);
  return w.buf;
}

export function decodeLoginResponse(bhs: Buffer): LoginResponse {
  const r = new ByteReader(bhs);
  return {
    ...decodeStageFlags(bhs[BhsOffset.FLAGS]),
    versionMax: bhs[LoginResponseOffset.VERSION_MAX],
    versionActive: bhs[LoginResponseOffset.VERSION_ACTIVE],
    isid: r.seek(LoginResponseOffset.ISID).u48(),
    tsih: r.seek(LoginResponseOffset.TSIH).u16(),
    itt: r.seek(BhsOffset.ITT).u32(),
    statSN: r.seek(LoginResponseOffset.STAT_SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    status: r.seek(LoginResponseOffset.STATUS_CLASS).u16(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export function encodeLoginResponse(p: Omit<LoginResponse, 'dataLength'>, dataLength: number): Buffer {
  const w = headerWriter(Opcode.LOGIN_RESPONSE, stageFlags(p), dataLength);
  w.seek(LoginResponseOffset.VERSION_MAX).u8(p.versionMax).u8(p.versionActive);
  w.seek(LoginResponseOffset.ISID).u48(p.isid).u16(p.tsih);
  w.seek(BhsOffset.ITT).u32(p.itt);
  w.seek(LoginResponseOffset.STAT_SN).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  w.seek(LoginResponseOffset.STATUS_CLASS).u16(p.status);
  return w.buf;
}

/** RFC 7143 11.10 / 11.11: Text Request and Text Response share their layout. */
const TextOffset = { LUN: 8, TTT: 20, SN: 24, EXP_SN: 28, MAX_CMD_SN: 32 } as const;

export interface TextRequest {
  immediate: boolean;
  final: boolean;
  continue: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  dataLength: number;
}

export interface TextResponse {
  final: boolean;
  continue: boolean;
  lun: Buffer;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataLength: number;
}

const textFlags = (p: { final: boolean; continue: boolean }): number =>
  (p.final ? FINAL_BIT : 0) | (p.continue ? LoginFlag.CONTINUE : 0);

export function decodeTextRequest(bhs: Buffer): TextRequest {
  const r = new ByteReader(bhs);
  const flags = bhs[BhsOffset.FLAGS];
  return {
    immediate: (bhs[0] & 0x40) !== 0,
    final: (flags & FINAL_BIT) !== 0,
    continue: (flags & LoginFlag.CONTINUE) !== 0,
    lun: Buffer.from(bhs.subarray(TextOffset.LUN, TextOffset.LUN + 8)),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.seek(TextOffset.TTT).u32(),
    cmdSN: r.seek(TextOffset.SN).u32(),
    expStatSN: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export function encodeTextRequest(p: Omit<TextRequest, 'dataLength'>, dataLength: number): Buffer {
  const w = headerWriter(Opcode.TEXT_REQUEST, textFlags(p), dataLength, { immediate: p.immediate });
  w.seek(TextOffset.LUN).bytes(p.lun);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt).u32(p.cmdSN).u32(p.expStatSN);
  return w.buf;
}

export function decodeTextResponse(bhs: Buffer): TextResponse {
  const r = new ByteReader(bhs);
  const flags = bhs[BhsOffset.FLAGS];
  return {
    final: (flags & FINAL_BIT) !== 0,
    continue: (flags & LoginFlag.CONTINUE) !== 0,
    lun: Buffer.from(bhs.subarray(TextOffset.LUN, TextOffset.LUN + 8)),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.seek(TextOffset.TTT).u32(),
    statSN: r.seek(TextOffset.SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export function encodeTextResponse(p: Omit<TextResponse, 'dataLength'>, dataLength: number): Buffer {
  const w = headerWriter(Opcode.TEXT_RESPONSE, textFlags(p), dataLength);
  w.seek(TextOffset.LUN).bytes(p.lun);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  return w.buf;
}

/**
 * NOP-Out/NOP-In (RFC 7143 11.18, 11.19), Task Management Function Request/Response (11.5,
 * 11.6), Logout Request/Response (11.14, 11.15), Reject (11.17) and Async Message (11.9).
 */
import { ByteReader } from '../../util/bytes.js';
import {
  BHS_LENGTH,
  BhsOffset,
  FINAL_BIT,
  IMMEDIATE_BIT,
  dataSegmentLengthOf,
  decodeLun,
  encodeLun,
  headerWriter,
} from './bhs.js';
import { Opcode, RESERVED_TAG } from './constants.js';

/** Offsets shared by NOP-Out, NOP-In, TMF and Logout PDUs. */
const Offset = {
  RESPONSE: 2,
  LUN: 8,
  TTT: 20,
  SN: 24,
  EXP_SN: 28,
  MAX_CMD_SN: 32,
  REF_CMD_SN: 32,
  EXP_DATA_SN: 36,
  CID: 20,
  TIME2WAIT: 40,
  TIME2RETAIN: 42,
  REJECT_REASON: 2,
  DATA_SN: 36,
  ASYNC_EVENT: 36,
  ASYNC_VCODE: 37,
  PARAMETER1: 38,
} as const;

export interface NopOut {
  immediate: boolean;
  lun: number;
  itt: number;
  ttt: number;
  cmdSN: number;
  expStatSN: number;
  dataLength: number;
}

export function decodeNopOut(bhs: Buffer): NopOut {
  const r = new ByteReader(bhs);
  return {
    immediate: (bhs[0] & IMMEDIATE_BIT) !== 0,
    lun: decodeLun(bhs, Offset.LUN),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.u32(),
    cmdSN: r.u32(),
    expStatSN: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export function encodeNopOut(p: Omit<NopOut, 'dataLength'>, dataLength: number): Buffer {
  const w = headerWriter(Opcode.NOP_OUT, FINAL_BIT, dataLength, { immediate: p.immediate });
  encodeLun(p.lun, w.buf, Offset.LUN);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt).u32(p.cmdSN).u32(p.expStatSN);
  return w.buf;
}

export interface NopIn {
  lun: number;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  dataLength: number;
}

export function encodeNopIn(p: Omit<NopIn, 'dataLength'>, dataLength: number): Buffer {
  const w = headerWriter(Opcode.NOP_IN, FINAL_BIT, dataLength);
  encodeLun(p.lun, w.buf, Offset.LUN);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.ttt).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  return w.buf;
}

export function decodeNopIn(bhs: Buffer): NopIn {
  const r = new ByteReader(bhs);
  return {
    lun: decodeLun(bhs, Offset.LUN),
    itt: r.seek(BhsOffset.ITT).u32(),
    ttt: r.u32(),
    statSN: r.u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export interface TmfRequest {
  immediate: boolean;
  function: number;
  lun: number;
  itt: number;
  referencedTaskTag: number;
  cmdSN: number;
  expStatSN: number;
  refCmdSN: number;
  expDataSN: number;
}

export function decodeTmfRequest(bhs: Buffer): TmfRequest {
  const r = new ByteReader(bhs);
  return {
    immediate: (bhs[0] & IMMEDIATE_BIT) !== 0,
    function: bhs[BhsOffset.FLAGS] & 0x7f,
    lun: decodeLun(bhs, Offset.LUN),
    itt: r.seek(BhsOffset.ITT).u32(),
    referencedTaskTag: r.u32(),
    cmdSN: r.u32(),
    expStatSN: r.u32(),
    refCmdSN: r.u32(),
    expDataSN: r.u32(),
  };
}

export function encodeTmfRequest(p: TmfRequest): Buffer {
  const w = headerWriter(Opcode.TASK_MANAGEMENT_REQUEST, FINAL_BIT | (p.function & 0x7f), 0, {
    immediate: p.immediate,
  });
  encodeLun(p.lun, w.buf, Offset.LUN);
  w.seek(BhsOffset.ITT).u32(p.itt).u32(p.referencedTaskTag).u32(p.cmdSN).u32(p.expStatSN);
  w.u32(p.refCmdSN).u32(p.expDataSN);
  return w.buf;
}

export interface TmfResponsePdu {
  response: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

export function encodeTmfResponse(p: TmfResponsePdu): Buffer {
  const w = headerWriter(Opcode.TASK_MANAGEMENT_RESPONSE, FINAL_BIT, 0);
  w.seek(Offset.RESPONSE).u8(p.response);
  w.seek(BhsOffset.ITT).u32(p.itt);
  w.seek(Offset.SN).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  return w.buf;
}

export function decodeTmfResponse(bhs: Buffer): TmfResponsePdu {
  const r = new ByteReader(bhs);
  return {
    response: bhs[Offset.RESPONSE],
    itt: r.seek(BhsOffset.ITT).u32(),
    statSN: r.seek(Offset.SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
  };
}

export interface LogoutRequest {
  immediate: boolean;
  reason: number;
  itt: number;
  cid: number;
  cmdSN: number;
  expStatSN: number;
}

export function decodeLogoutRequest(bhs: Buffer): LogoutRequest {
  const r = new ByteReader(bhs);
  return {
    immediate: (bhs[0] & IMMEDIATE_BIT) !== 0,
    reason: bhs[BhsOffset.FLAGS] & 0x7f,
    itt: r.seek(BhsOffset.ITT).u32(),
    cid: r.seek(Offset.CID).u16(),
    cmdSN: r.seek(Offset.SN).u32(),
    expStatSN: r.u32(),
  };
}

export function encodeLogoutRequest(p: LogoutRequest): Buffer {
  const w = headerWriter(Opcode.LOGOUT_REQUEST, FINAL_BIT | (p.reason & 0x7f), 0, { immediate: p.immediate });
  w.seek(BhsOffset.ITT).u32(p.itt).u16(p.cid);
  w.seek(Offset.SN).u32(p.cmdSN).u32(p.expStatSN);
  return w.buf;
}

export interface LogoutResponsePdu {
  response: number;
  itt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  time2Wait: number;
  time2Retain: number;
}

export function encodeLogoutResponse(p: LogoutResponsePdu): Buffer {
  const w = headerWriter(Opcode.LOGOUT_RESPONSE, FINAL_BIT, 0);
  w.seek(Offset.RESPONSE).u8(p.response);
  w.seek(BhsOffset.ITT).u32(p.itt);
  w.seek(Offset.SN).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  w.seek(Offset.TIME2WAIT).u16(p.time2Wait).u16(p.time2Retain);
  return w.buf;
}

export function decodeLogoutResponse(bhs: Buffer): LogoutResponsePdu {
  const r = new ByteReader(bhs);
  return {
    response: bhs[Offset.RESPONSE],
    itt: r.seek(BhsOffset.ITT).u32(),
    statSN: r.seek(Offset.SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    time2Wait: r.seek(Offset.TIME2WAIT).u16(),
    time2Retain: r.u16(),
  };
}

export interface RejectPdu {
  reason: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  /** DataSN/R2TSN of a rejected SNACK (reason 0x03), else 0. */
  dataSN: number;
}

/** The data segment of a Reject is the complete header of the rejected PDU (RFC 7143 11.17.1). */
export function encodeReject(p: RejectPdu, rejectedHeaderLength: number): Buffer {
  const w = headerWriter(Opcode.REJECT, FINAL_BIT, rejectedHeaderLength);
  w.seek(Offset.REJECT_REASON).u8(p.reason);
  w.seek(BhsOffset.ITT).u32(RESERVED_TAG);
  w.seek(Offset.SN).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN).u32(p.dataSN);
  return w.buf;
}

export function decodeReject(bhs: Buffer): RejectPdu & { dataLength: number } {
  const r = new ByteReader(bhs);
  return {
    reason: bhs[Offset.REJECT_REASON],
    statSN: r.seek(Offset.SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    dataSN: r.u32(),
    dataLength: dataSegmentLengthOf(bhs),
  };
}

export interface AsyncMessage {
  lun: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
  event: number;
  vendorCode: number;
  parameter1: number;
  parameter2: number;
  parameter3: number;
}

export function encodeAsyncMessage(p: AsyncMessage, dataLength: number): Buffer {
  const w = headerWriter(Opcode.ASYNC_MESSAGE, FINAL_BIT, dataLength);
  encodeLun(p.lun, w.buf, Offset.LUN);
  w.seek(BhsOffset.ITT).u32(RESERVED_TAG);
  w.seek(Offset.SN).u32(p.statSN).u32(p.expCmdSN).u32(p.maxCmdSN);
  w.seek(Offset.ASYNC_EVENT)
    .u8(p.event)
    .u8(p.vendorCode)
    .u16(p.parameter1)
    .u16(p.parameter2)
    .u16(p.parameter3);
  return w.buf;
}

export function decodeAsyncMessage(bhs: Buffer): AsyncMessage {
  const r = new ByteReader(bhs);
  return {
    lun: decodeLun(bhs, Offset.LUN),
    statSN: r.seek(Offset.SN).u32(),
    expCmdSN: r.u32(),
    maxCmdSN: r.u32(),
    event: bhs[Offset.ASYNC_EVENT],
    vendorCode: bhs[Offset.ASYNC_VCODE],
    parameter1: r.seek(Offset.PARAMETER1).u16(),
    parameter2: r.u16(),
    parameter3: r.u16(),
  };
}

export { BHS_LENGTH };

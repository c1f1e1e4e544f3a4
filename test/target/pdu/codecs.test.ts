import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BHS_LENGTH,
  LUN_UNSUPPORTED,
  dataSegmentLengthOf,
  decodeLun,
  encodeLun,
  isImmediate,
  opcodeOf,
  padLength,
  serial,
  totalAhsLengthOf,
} from '../../../src/target/pdu/bhs.js';
import { Opcode, RESERVED_TAG } from '../../../src/target/pdu/constants.js';
import * as control from '../../../src/target/pdu/control.js';
import * as data from '../../../src/target/pdu/data.js';
import * as login from '../../../src/target/pdu/login.js';
import * as scsi from '../../../src/target/pdu/scsi.js';
import { TextFormatError, parseTextPairs, serializeTextPairs } from '../../../src/target/pdu/text-pairs.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const lunArb = fc.integer({ min: 0, max: 16383 });

function strip<T extends object>(o: T): Omit<T, 'dataLength'> {
  const { dataLength: _d, ...rest } = o as T & { dataLength?: number };
  return rest;
}

describe('BHS common fields', () => {
  it('reads opcode, I bit, TotalAHSLength and DataSegmentLength at RFC 7143 11.2.1 offsets', () => {
    const b = Buffer.alloc(48);
    b[0] = 0x40 | Opcode.SCSI_COMMAND;
    b[4] = 3;
    b.writeUIntBE(0x012345, 5, 3);
    expect(opcodeOf(b)).toBe(0x01);
    expect(isImmediate(b)).toBe(true);
    expect(totalAhsLengthOf(b)).toBe(3);
    expect(dataSegmentLengthOf(b)).toBe(0x012345);
  });

  it('encodes LUNs with peripheral addressing below 256 and flat addressing above (SAM-5 4.7)', () => {
    expect([...encodeLun(5)]).toEqual([0, 5, 0, 0, 0, 0, 0, 0]);
    expect([...encodeLun(0x123)]).toEqual([0x41, 0x23, 0, 0, 0, 0, 0, 0]);
    fc.assert(fc.property(lunArb, (lun) => decodeLun(encodeLun(lun), 0) === lun));
    expect(decodeLun(Buffer.from([0x80, 1, 0, 0, 0, 0, 0, 0]), 0)).toBe(LUN_UNSUPPORTED);
    expect(decodeLun(Buffer.from([0, 1, 0, 1, 0, 0, 0, 0]), 0)).toBe(LUN_UNSUPPORTED);
  });

  it('compares sequence numbers with RFC 1982 serial arithmetic', () => {
    expect(serial.lt(0xfffffffe, 1)).toBe(true);
    expect(serial.gt(1, 0xfffffffe)).toBe(true);
    expect(serial.inWindow(0, 0xfffffff0, 0x10)).toBe(true);
    expect(serial.inWindow(0x11, 0xfffffff0, 0x10)).toBe(false);
    expect(serial.add(0xffffffff, 2)).toBe(1);
    expect(padLength(5)).toBe(3);
    expect(padLength(8)).toBe(0);
  });
});

describe('Login and Text codecs', () => {
  it('round-trips Login Request and puts T/C/CSG/NSG, ISID, TSIH and CID at their offsets', () => {
    const req = {
      transit: true,
      continue: false,
      csg: 1,
      nsg: 3,
      versionMax: 0,
      versionMin: 0,
      isid: 0x23d000000001,
      tsih: 0x1234,
      itt: 7,
      cid: 9,
      cmdSN: 100,
      expStatSN: 200,
    };
    const h = login.encodeLoginRequest(req, 10);
    expect(h[0]).toBe(0x43);
    expect(h[1]).toBe(0x80 | (1 << 2) | 3);
    expect(h.subarray(8, 14).toString('hex')).toBe('23d000000001');
    expect(h.readUInt16BE(14)).toBe(0x1234);
    expect(h.readUInt16BE(20)).toBe(9);
    expect(strip(login.decodeLoginRequest(h))).toEqual(req);
    expect(dataSegmentLengthOf(h)).toBe(10);
  });

  it('round-trips Login Response with status class and detail at bytes 36-37', () => {
    const res = {
      transit: false,
      continue: true,
      csg: 0,
      nsg: 0,
      versionMax: 0,
      versionActive: 0,
      isid: 1,
      tsih: 2,
      itt: 3,
      statSN: 4,
      expCmdSN: 5,
      maxCmdSN: 6,
      status: 0x0201,
    };
    const h = login.encodeLoginResponse(res, 0);
    expect(h[36]).toBe(0x02);
    expect(h[37]).toBe(0x01);
    expect(strip(login.decodeLoginResponse(h))).toEqual(res);
  });

  it('round-trips Text Request and Text Response', () => {
    fc.assert(
      fc.property(u32, u32, u32, u32, fc.boolean(), fc.boolean(), (itt, ttt, a, b, f, c) => {
        const lun = Buffer.alloc(8);
        const req = { immediate: false, final: f, continue: c, lun, itt, ttt, cmdSN: a, expStatSN: b };
        expect(strip(login.decodeTextRequest(login.encodeTextRequest(req, 0)))).toEqual(req);
        const res = { final: f, continue: c, lun, itt, ttt, statSN: a, expCmdSN: b, maxCmdSN: a };
        expect(strip(login.decodeTextResponse(login.encodeTextResponse(res, 0)))).toEqual(res);
      }),
    );
  });
});

describe('SCSI Command and Response codecs', () => {
  it('round-trips a 16-byte CDB in the BHS', () => {
    const cdb = Buffer.from('0a000001000000000000000000000000', 'hex');
    const cmd = {
      immediate: false,
      final: true,
      read: false,
      write: true,
      attribute: 1,
      lun: 1,
      itt: 0x10,
      expectedLength: 512,
      cmdSN: 5,
      expStatSN: 6,
      cdb,
    };
    const h = scsi.encodeScsiCommand(cmd, 512);
    expect(h.length).toBe(BHS_LENGTH);
    expect(h[1]).toBe(0x80 | 0x20 | 1);
    expect(h.readUInt32BE(20)).toBe(512);
    const d = scsi.decodeScsiCommand(h, null);
    expect(d.cdb.equals(cdb)).toBe(true);
    expect(d.bidiReadLength).toBeNull();
  });

  it('carries CDBs longer than 16 bytes in an extended-CDB AHS (RFC 7143 11.3.5.1)', () => {
    const cdb = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const h = scsi.encodeScsiCommand(
      {
        immediate: false,
        final: true,
        read: true,
        write: false,
        attribute: 0,
        lun: 0,
        itt: 1,
        expectedLength: 0,
        cmdSN: 0,
        expStatSN: 0,
        cdb,
      },
      0,
    );
    expect(totalAhsLengthOf(h)).toBe(5);
    const ahs = h.subarray(48);
    expect(ahs.readUInt16BE(0)).toBe(17);
    expect(ahs[2]).toBe(scsi.AhsType.EXTENDED_CDB);
    expect(scsi.decodeScsiCommand(h.subarray(0, 48), ahs).cdb.equals(cdb)).toBe(true);
  });

  it('refuses an AHS whose length overruns it or whose type is unknown', () => {
    const bhs = Buffer.alloc(48);
    expect(() => scsi.decodeScsiCommand(bhs, Buffer.from([0, 40, 1, 0, 0, 0, 0, 0]))).toThrow(scsi.AhsError);
    expect(() => scsi.decodeScsiCommand(bhs, Buffer.from([0, 1, 9, 0]))).toThrow(scsi.AhsError);
  });

  it('round-trips SCSI Response with residual flags O/U in byte 1 and the count at byte 44', () => {
    const r = {
      overflow: false,
      underflow: true,
      response: 0,
      status: 2,
      itt: 5,
      statSN: 6,
      expCmdSN: 7,
      maxCmdSN: 8,
      expDataSN: 3,
      residualCount: 100,
    };
    const h = scsi.encodeScsiResponse(r, 20);
    expect(h[1]).toBe(0x80 | scsi.ResidualFlag.UNDERFLOW);
    expect(h.readUInt32BE(44)).toBe(100);
    expect(strip(scsi.decodeScsiResponse(h))).toEqual(r);
  });

  it('puts sense data behind a 2-byte SenseLength (RFC 7143 11.4.7.2)', () => {
    const sense = Buffer.from([0x70, 0, 5]);
    const seg = scsi.encodeSenseSegment(sense);
    expect(seg.readUInt16BE(0)).toBe(3);
    expect(scsi.decodeSenseSegment(seg)!.equals(sense)).toBe(true);
    expect(scsi.decodeSenseSegment(Buffer.from([0, 0]))).toBeNull();
  });
});

describe('Data and R2T codecs', () => {
  it('round-trips Data-Out', () => {
    fc.assert(
      fc.property(u32, u32, u32, u32, fc.boolean(), (itt, ttt, dataSN, offset, final) => {
        const p = {
          final,
          lun: Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]),
          itt,
          ttt,
          expStatSN: 3,
          dataSN,
          bufferOffset: offset,
        };
        const d = data.decodeDataOut(data.encodeDataOut(p, 0));
        expect({ ...strip(d), lun: Buffer.from(d.lun) }).toEqual(p);
      }),
    );
  });

  it('encodes Data-In F, A, O, U, S bits, status, DataSN, offset and residual at their offsets', () => {
    const p = {
      final: true,
      acknowledge: false,
      overflow: true,
      underflow: false,
      hasStatus: true,
      status: 0,
      lun: 1,
      itt: 9,
      ttt: RESERVED_TAG,
      statSN: 11,
      expCmdSN: 12,
      maxCmdSN: 13,
      dataSN: 14,
      bufferOffset: 15,
      residualCount: 16,
    };
    const h = data.encodeDataIn(p, 4);
    expect(h[0]).toBe(0x25);
    expect(h[1]).toBe(0x80 | 0x04 | 0x01);
    expect(h.readUInt32BE(36)).toBe(14);
    expect(h.readUInt32BE(40)).toBe(15);
    expect(h.readUInt32BE(44)).toBe(16);
    expect(strip(data.decodeDataIn(h))).toEqual(p);
  });

  it('round-trips R2T with R2TSN, offset and desired length', () => {
    const p = {
      lun: 2,
      itt: 1,
      ttt: 2,
      statSN: 3,
      expCmdSN: 4,
      maxCmdSN: 5,
      r2tSN: 6,
      bufferOffset: 7,
      desiredLength: 8,
    };
    const h = data.encodeR2T(p);
    expect(h[0]).toBe(0x31);
    expect(h.readUInt32BE(44)).toBe(8);
    expect(data.decodeR2T(h)).toEqual(p);
  });
});

describe('control PDU codecs', () => {
  it('round-trips NOP-Out and NOP-In', () => {
    const out = { immediate: true, lun: 0, itt: RESERVED_TAG, ttt: 5, cmdSN: 1, expStatSN: 2 };
    expect(strip(control.decodeNopOut(control.encodeNopOut(out, 0)))).toEqual(out);
    const inn = { lun: 0, itt: 1, ttt: RESERVED_TAG, statSN: 2, expCmdSN: 3, maxCmdSN: 4 };
    expect(strip(control.decodeNopIn(control.encodeNopIn(inn, 8)))).toEqual(inn);
  });

  it('round-trips Task Management Request/Response with the function in byte 1', () => {
    const req = {
      immediate: true,
      function: 5,
      lun: 3,
      itt: 1,
      referencedTaskTag: 2,
      cmdSN: 3,
      expStatSN: 4,
      refCmdSN: 5,
      expDataSN: 6,
    };
    const h = control.encodeTmfRequest(req);
    expect(h[1]).toBe(0x85);
    expect(control.decodeTmfRequest(h)).toEqual(req);
    const res = { response: 1, itt: 1, statSN: 2, expCmdSN: 3, maxCmdSN: 4 };
    expect(control.decodeTmfResponse(control.encodeTmfResponse(res))).toEqual(res);
  });

  it('round-trips Logout Request/Response with Time2Wait/Time2Retain at 40/42', () => {
    const req = { immediate: true, reason: 1, itt: 1, cid: 7, cmdSN: 2, expStatSN: 3 };
    expect(control.decodeLogoutRequest(control.encodeLogoutRequest(req))).toEqual(req);
    const res = { response: 0, itt: 1, statSN: 2, expCmdSN: 3, maxCmdSN: 4, time2Wait: 2, time2Retain: 20 };
    const h = control.encodeLogoutResponse(res);
    expect(h.readUInt16BE(40)).toBe(2);
    expect(h.readUInt16BE(42)).toBe(20);
    expect(control.decodeLogoutResponse(h)).toEqual(res);
  });

  it('encodes Reject with reason at byte 2, ITT 0xffffffff and the rejected header as data', () => {
    const h = control.encodeReject({ reason: 9, statSN: 1, expCmdSN: 2, maxCmdSN: 3, dataSN: 0 }, 48);
    expect(h[2]).toBe(9);
    expect(h.readUInt32BE(16)).toBe(RESERVED_TAG);
    expect(dataSegmentLengthOf(h)).toBe(48);
    expect(strip(control.decodeReject(h))).toEqual({
      reason: 9,
      statSN: 1,
      expCmdSN: 2,
      maxCmdSN: 3,
      dataSN: 0,
    });
  });

  it('round-trips Async Message with event, vcode and parameters at 36-43', () => {
    const p = {
      lun: 1,
      statSN: 1,
      expCmdSN: 2,
      maxCmdSN: 3,
      event: 1,
      vendorCode: 0,
      parameter1: 0,
      parameter2: 2,
      parameter3: 20,
    };
    const h = control.encodeAsyncMessage(p, 0);
    expect(h[36]).toBe(1);
    expect(h.readUInt16BE(42)).toBe(20);
    expect(control.decodeAsyncMessage(h)).toEqual(p);
  });
});

describe('text pairs', () => {
  it('parses NUL-terminated key=value pairs and serializes them back', () => {
    const pairs = [
      { key: 'InitiatorName', value: 'iqn.x' },
      { key: 'X-a', value: '' },
      { key: 'K', value: 'a=b' },
    ];
    expect(parseTextPairs(serializeTextPairs(pairs))).toEqual(pairs);
    expect(parseTextPairs(Buffer.from('A=1\0\0B=2'))).toEqual([
      { key: 'A', value: '1' },
      { key: 'B', value: '2' },
    ]);
  });

  it('refuses a pair without "=" and a key longer than 63 bytes', () => {
    expect(() => parseTextPairs(Buffer.from('novalue\0'))).toThrow(TextFormatError);
    expect(() => parseTextPairs(Buffer.from(`${'K'.repeat(64)}=1\0`))).toThrow(TextFormatError);
  });
});

import { describe, expect, it } from 'vitest';
import { I1, I2, cdb, dataOf, readyUnit, run, senseOf } from './processor.js';

const logSense = (b1: number, pcPage: number, sub: number, pointer: number, alloc: number): Buffer =>
  cdb(0x4d, b1, pcPage, sub, 0, pointer >> 8, pointer & 0xff, alloc >> 8, alloc & 0xff, 0);
const logSelect = (b1: number, pcPage: number, sub: number, len: number): Buffer =>
  cdb(0x4c, b1, pcPage, sub, 0, 0, 0, len >> 8, len & 0xff, 0);

describe('LOG SENSE', () => {
  it('lists supported pages (00h) and pages with subpages (00h/FFh) from the table', async () => {
    const { lu } = await readyUnit(I1);
    expect(dataOf(await run(lu, logSense(0, 0x00, 0, 0, 255), I1)).toString('hex')).toBe('000000020032');
    expect(dataOf(await run(lu, logSense(0, 0x00, 0xff, 0, 255), I1)).toString('hex')).toBe(
      '40ff0008' + '000000ff' + '32003301',
    );
  });

  it('returns parameters ascending, with page control and parameter pointer honoured', async () => {
    const { lu, device } = await readyUnit(I1);
    device.messagesSent = 2;
    device.bytesSent = 300;
    const cum = dataOf(await run(lu, logSense(0, 0x40 | 0x32, 0, 0, 255), I1));
    expect(cum.toString('hex')).toBe('32000010' + '0001000400000002' + '000200040000012c');
    const thr = dataOf(await run(lu, logSense(0, 0x32, 0, 0, 255), I1));
    expect(thr.subarray(8, 12).toString('hex')).toBe('00000000');
    const from2 = dataOf(await run(lu, logSense(0, 0x40 | 0x32, 0, 2, 255), I1));
    expect(from2.toString('hex')).toBe('32000008' + '000200040000012c');
    const past = senseOf(await run(lu, logSense(0, 0x40 | 0x32, 0, 3, 255), I1));
    expect([past.name, past.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 5]);
  });

  it('encodes subpage format pages with SPF and the parameter control byte', async () => {
    const { lu } = await readyUnit(I1);
    expect(dataOf(await run(lu, logSense(0, 0x33, 0x01, 0, 255), I1)).toString('hex')).toBe(
      '73010006' + '000003026f6b',
    );
  });

  it('truncates to the allocation length with the full page length kept', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, logSense(0, 0x40 | 0x32, 0, 0, 6), I1));
    expect(d.toString('hex')).toBe('320000100001');
  });

  it('refuses PPC, SP, unknown pages and subpages with field pointers', async () => {
    const { lu } = await readyUnit(I1);
    const ppc = senseOf(await run(lu, logSense(0x02, 0x40 | 0x32, 0, 0, 255), I1));
    expect([ppc.fieldPointer, ppc.bitPointer]).toEqual([1, 1]);
    const sp = senseOf(await run(lu, logSense(0x01, 0x40 | 0x32, 0, 0, 255), I1));
    expect([sp.fieldPointer, sp.bitPointer]).toEqual([1, 0]);
    const page = senseOf(await run(lu, logSense(0, 0x40 | 0x17, 0, 0, 255), I1));
    expect([page.name, page.fieldPointer, page.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2, 5]);
    const sub = senseOf(await run(lu, logSense(0, 0x40 | 0x33, 0x02, 0, 255), I1));
    expect([sub.name, sub.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 3]);
  });
});

describe('LOG SELECT', () => {
  it('resets every resettable page with PCR and tells the other nexuses', async () => {
    const { lu, device } = await readyUnit(I1, I2);
    device.messagesSent = 5;
    expect((await run(lu, logSelect(0x02, 0x40, 0, 0), I1)).status).toBe(0);
    expect(device.messagesSent).toBe(0);
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('LOG_PARAMETERS_CHANGED');
  });

  it('refuses PCR with a parameter list and SP', async () => {
    const { lu } = await readyUnit(I1);
    const a = senseOf(await run(lu, logSelect(0x02, 0x40, 0, 8), I1, Buffer.alloc(8)));
    expect([a.name, a.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 7]);
    const b = senseOf(await run(lu, logSelect(0x01, 0x40, 0, 0), I1));
    expect([b.name, b.fieldPointer, b.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 0]);
  });

  it('resets one page named in the CDB, and refuses one that cannot be reset', async () => {
    const { lu, device } = await readyUnit(I1);
    device.bytesSent = 9;
    expect((await run(lu, logSelect(0, 0x40 | 0x32, 0, 0), I1)).status).toBe(0);
    expect(device.bytesSent).toBe(0);
    const s = senseOf(await run(lu, logSelect(0, 0x40 | 0x33, 0x01, 0), I1));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2]);
  });

  it('accepts a list of zero values for a resettable page, refuses others with pointers', async () => {
    const { lu, device } = await readyUnit(I1);
    device.messagesSent = 4;
    const zero = Buffer.from('32000008' + '0001000400000000', 'hex');
    expect((await run(lu, logSelect(0, 0x40, 0, zero.length), I1, zero)).status).toBe(0);
    expect(device.messagesSent).toBe(0);
    const nonzero = Buffer.from('32000008' + '0001000400000007', 'hex');
    const a = senseOf(await run(lu, logSelect(0, 0x40, 0, nonzero.length), I1, nonzero));
    expect([a.name, a.fieldPointer, a.inCdb]).toEqual(['PARAMETER_VALUE_INVALID', 11, false]);
    const fixed = Buffer.from('73010006' + '000003026f6b', 'hex');
    const b = senseOf(await run(lu, logSelect(0, 0x40, 0, fixed.length), I1, fixed));
    expect([b.name, b.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 0]);
    const cut = senseOf(await run(lu, logSelect(0, 0x40, 0, 6), I1, zero.subarray(0, 6)));
    expect(cut.name).toBe('PARAMETER_LIST_LENGTH_ERROR');
  });
});

import { describe, expect, it } from 'vitest';
import { I1, I2, cdb, dataOf, readyUnit, run, senseOf } from './processor.js';

const sense6 = (b1: number, b2: number, sub: number, alloc: number): Buffer =>
  cdb(0x1a, b1, b2, sub, alloc, 0);
const sense10 = (b1: number, b2: number, sub: number, alloc: number): Buffer =>
  cdb(0x5a, b1, b2, sub, 0, 0, 0, alloc >> 8, alloc & 0xff, 0);
const select6 = (b1: number, len: number): Buffer => cdb(0x15, b1, 0, 0, len, 0);
const select10 = (b1: number, len: number): Buffer => cdb(0x55, b1, 0, 0, 0, 0, 0, len >> 8, len & 0xff, 0);

/** MODE SELECT(6) list: 4-byte header with the device-specific byte, optional descriptor, pages. */
function list6(descriptor: Buffer | null, ...pages: Buffer[]): Buffer {
  const header = Buffer.from([0, 0, 0x10, descriptor ? 8 : 0]);
  return Buffer.concat([header, ...(descriptor ? [descriptor] : []), ...pages]);
}

describe('MODE SENSE', () => {
  it('answers page 00h with header and block descriptor only (st reads 12 bytes at open)', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, sense6(0, 0x00, 0, 12), I1));
    expect(d.toString('hex')).toBe('0b001008' + '0000000000000200');
  });

  it('returns one page with the (10) header, block descriptor length 8', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, sense10(0, 0x20, 0, 255), I1));
    expect(d.readUInt16BE(0)).toBe(d.length - 2);
    expect([d[2], d[3], d.readUInt16BE(6)]).toEqual([0x00, 0x10, 8]);
    expect(d.subarray(16).toString('hex')).toBe('200603005a000000');
  });

  it('omits block descriptors with DBD and keeps short ones with LLBAA', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, sense6(0x08, 0x20, 0, 255), I1));
    expect([d[0], d[3], d[4]]).toEqual([3 + 8, 0, 0x20]);
    const l = dataOf(await run(lu, sense10(0x10, 0x20, 0, 255), I1));
    expect([l[4] & 1, l.readUInt16BE(6)]).toEqual([0, 8]);
  });

  it('returns all subpage-0 pages for 3Fh and all pages and subpages for 3Fh/FFh', async () => {
    const { lu } = await readyUnit(I1);
    const pagesOf = (d: Buffer, at: number): number[] => {
      const codes: number[] = [];
      for (let p = at; p < d.length; p += d[p] & 0x40 ? 4 + d.readUInt16BE(p + 2) : 2 + d[p + 1])
        codes.push(d[p] & 0x3f);
      return codes;
    };
    const all = dataOf(await run(lu, sense10(0x08, 0x3f, 0, 1024), I1));
    expect(pagesOf(all, 8)).toEqual([0x0a, 0x1c, 0x20]);
    expect(all.readUInt16BE(0)).toBe(all.length - 2);
    const allSub = dataOf(await run(lu, sense10(0x08, 0x3f, 0xff, 1024), I1));
    expect(pagesOf(allSub, 8)).toEqual([0x0a, 0x1c, 0x20, 0x20]);
    const subpages = dataOf(await run(lu, sense10(0x08, 0x20, 0xff, 1024), I1));
    expect(subpages.subarray(8).toString('hex')).toBe('200603005a000000' + '600100040a000000');
    const truncated = dataOf(await run(lu, sense10(0, 0x3f, 0, 10), I1));
    expect([truncated.length, truncated.readUInt16BE(0)]).toEqual([10, all.length - 2 + 8]);
  });

  it('reports changeable and default values', async () => {
    const { lu, device } = await readyUnit(I1);
    device.level = 7;
    const ch = dataOf(await run(lu, sense6(0x08, 0x40 | 0x20, 0, 255), I1));
    expect(ch.subarray(4).toString('hex')).toBe('2006ff0100000000');
    const def = dataOf(await run(lu, sense6(0x08, 0x80 | 0x20, 0, 255), I1));
    expect(def[6]).toBe(3);
    const ctl = dataOf(await run(lu, sense6(0x08, 0x40 | 0x0a, 0, 255), I1));
    expect(ctl.subarray(4).toString('hex')).toBe('0a0a04000000000000000000');
  });

  it('refuses saved values with SAVING PARAMETERS NOT SUPPORTED', async () => {
    const { lu } = await readyUnit(I1);
    const s = senseOf(await run(lu, sense6(0, 0xc0 | 0x20, 0, 255), I1));
    expect([s.key, s.asc, s.ascq]).toEqual([0x5, 0x39, 0x00]);
  });

  it('refuses unknown pages at byte 2 and unknown subpages at byte 3', async () => {
    const { lu } = await readyUnit(I1);
    const p = senseOf(await run(lu, sense6(0, 0x21, 0, 255), I1));
    expect([p.name, p.fieldPointer, p.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2, 5]);
    const sp = senseOf(await run(lu, sense10(0, 0x20, 0x02, 255), I1));
    expect([sp.name, sp.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 3]);
    const bad = senseOf(await run(lu, sense10(0, 0x3f, 0x05, 255), I1));
    expect([bad.name, bad.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 3]);
  });
});

describe('MODE SELECT', () => {
  const page20 = (level: number, verbose: number, constant = 0x5a): Buffer =>
    Buffer.from([0x20, 6, level, verbose, constant, 0, 0, 0]);

  it('round-trips a changeable field and raises MODE PARAMETERS CHANGED for other nexuses', async () => {
    const { lu, device } = await readyUnit(I1, I2);
    const list = list6(null, page20(9, 1));
    expect(await run(lu, select6(0x10, list.length), I1, list)).toEqual({
      status: 0,
      dataOutNeeded: list.length,
    });
    expect([device.level, device.verbose]).toEqual([9, true]);
    const d = dataOf(await run(lu, sense6(0x08, 0x20, 0, 255), I1));
    expect(d.subarray(4).toString('hex')).toBe('200609015a000000');
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('MODE_PARAMETERS_CHANGED');
  });

  it('echoes MODE SENSE data back with PS set and changes nothing: no unit attention', async () => {
    const { lu } = await readyUnit(I1, I2);
    const sensed = dataOf(await run(lu, sense10(0, 0x20, 0, 255), I1));
    sensed.writeUInt16BE(0, 0);
    sensed[8 + 8] = sensed[8 + 8] | 0x80; // PS
    expect((await run(lu, select10(0x10, sensed.length), I1, sensed)).status).toBe(0);
    expect((await run(lu, cdb(0x00), I2)).status).toBe(0);
  });

  it('rejects a change to a non-changeable bit with the parameter-list pointer', async () => {
    const { lu, device } = await readyUnit(I1);
    const descriptor = Buffer.from('0000000000000200', 'hex');
    const list = list6(descriptor, page20(4, 0, 0x5b));
    const s = senseOf(await run(lu, select6(0x10, list.length), I1, list));
    // header 4 + descriptor 8 + page byte 4; 5Ah → 5Bh differs in bit 0.
    expect([s.name, s.fieldPointer, s.bitPointer, s.inCdb]).toEqual([
      'INVALID_FIELD_IN_PARAMETER_LIST',
      16,
      0,
      false,
    ]);
    expect(device.level).toBe(3);
    const ten = Buffer.concat([Buffer.from([0, 0, 0, 0x10, 0, 0, 0, 0]), page20(3, 0x81)]);
    const t = senseOf(await run(lu, select10(0x10, ten.length), I1, ten));
    expect([t.fieldPointer, t.bitPointer]).toEqual([11, 7]);
  });

  it('rebases a device error inside a page or descriptor to the parameter list', async () => {
    const { lu, device } = await readyUnit(I1);
    const list = list6(Buffer.from('0000000000000201', 'hex'));
    const s = senseOf(await run(lu, select6(0x10, list.length), I1, list));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 4 + 5]);
    const ok = list6(Buffer.from('0000000000000400', 'hex'), page20(12, 0));
    const p = senseOf(await run(lu, select6(0x10, ok.length), I1, ok));
    expect([p.name, p.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 4 + 8 + 2]);
    const good = list6(Buffer.from('0000000000000400', 'hex'));
    expect((await run(lu, select6(0x10, good.length), I1, good)).status).toBe(0);
    expect(device.blockLength).toBe(1024);
  });

  it('checks the CDB: PF must be set, SP refused', async () => {
    const { lu } = await readyUnit(I1);
    const list = list6(null, page20(4, 0));
    const pf = senseOf(await run(lu, select6(0x00, list.length), I1, list));
    expect([pf.name, pf.fieldPointer, pf.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 4]);
    const sp = senseOf(await run(lu, select6(0x11, list.length), I1, list));
    expect([sp.name, sp.fieldPointer, sp.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 0]);
  });

  it('checks lengths: page length, truncated lists, unknown pages, descriptor length', async () => {
    const { lu } = await readyUnit(I1);
    const wrongLength = list6(null, Buffer.from([0x20, 5, 3, 0, 0x5a, 0, 0]));
    const a = senseOf(await run(lu, select6(0x10, wrongLength.length), I1, wrongLength));
    expect([a.name, a.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 5]);
    const full = list6(null, page20(4, 0));
    const b = senseOf(await run(lu, select6(0x10, full.length - 2), I1, full.subarray(0, full.length - 2)));
    expect(b.name).toBe('PARAMETER_LIST_LENGTH_ERROR');
    const c = senseOf(await run(lu, select6(0x10, 3), I1, full.subarray(0, 3)));
    expect(c.name).toBe('PARAMETER_LIST_LENGTH_ERROR');
    const unknown = list6(null, Buffer.from([0x21, 2, 0, 0]));
    const d = senseOf(await run(lu, select6(0x10, unknown.length), I1, unknown));
    expect([d.name, d.fieldPointer, d.bitPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 4, 5]);
    const badBd = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0]);
    const e = senseOf(await run(lu, select6(0x10, badBd.length), I1, badBd));
    expect([e.name, e.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 3]);
    expect(await run(lu, select6(0x10, 0), I1, null)).toEqual({ status: 0, dataOutNeeded: 0 });
  });

  it('selects a subpage format page and checks its 2-byte page length', async () => {
    const { lu, device } = await readyUnit(I1);
    const sub = Buffer.from('6001000419000000', 'hex');
    const list = Buffer.concat([Buffer.alloc(8), sub]);
    expect((await run(lu, select10(0x10, list.length), I1, list)).status).toBe(0);
    expect(device.timer).toBe(0x19);
    expect(dataOf(await run(lu, sense10(0x08, 0x20, 0x01, 255), I1))[12]).toBe(0x19);
    const bad = Buffer.concat([Buffer.alloc(8), Buffer.from('600100050000000000', 'hex')]);
    const s = senseOf(await run(lu, select10(0x10, bad.length), I1, bad));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 10]);
    const unknown = Buffer.concat([Buffer.alloc(8), Buffer.from('6002000400000000', 'hex')]);
    const u = senseOf(await run(lu, select10(0x10, unknown.length), I1, unknown));
    expect([u.name, u.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 9]);
  });

  it('refuses a change of a non-changeable control page bit (SWP)', async () => {
    const { lu } = await readyUnit(I1);
    const ctl = Buffer.from('0a0a02000800000000000000', 'hex');
    const list = list6(null, ctl);
    const s = senseOf(await run(lu, select6(0x10, list.length), I1, list));
    expect([s.name, s.fieldPointer, s.bitPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 8, 3]);
  });
});

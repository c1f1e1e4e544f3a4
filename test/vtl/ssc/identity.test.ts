/**
 * Identity pages per personality: VPD B0h-B2h (SSC-4), IBM C0h/C1h, IBM mode pages 24h/25h,
 * distinct serials and designators per LUN, REPORT DENSITY SUPPORT in both forms, MODE SENSE 3Fh
 * with medium type and density per cartridge, and RSOC with command timeouts descriptors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { Harness, cdb } from './harness.js';

const harnesses: Harness[] = [];
async function drive(model?: string, serial?: string): Promise<Harness> {
  const h = await new Harness(undefined, {
    ...(model ? { model } : {}),
    ...(serial ? { serial } : {}),
  }).start();
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

describe('VPD pages', () => {
  it('00h lists B0h-B2h everywhere and C0h/C1h only on IBM personalities', async () => {
    const ibm = await drive('IBM ULT3580-TD8');
    const hp = await drive('HPE Ultrium 8-SCSI');
    const list = async (h: Harness): Promise<number[]> => [
      ...(await h.exec(cdb.inquiry(255, 0))).data.subarray(4),
    ];
    expect(await list(ibm)).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2, 0xc0, 0xc1]);
    expect(await list(hp)).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
    // sg_vpd -a walks the list: every listed page answers; an unlisted one is 24/00 at byte 2.
    const r = await hp.exec(cdb.inquiry(255, 0xc0));
    expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, fieldPointer: 2 });
  });

  it('B0h: page length 2, WORM bit; B1h: the serial; B2h: page length 0Ch, all 64 flags', async () => {
    const h = await drive(undefined, 'SER0000042');
    expect([...(await h.exec(cdb.inquiry(255, 0xb0))).data]).toEqual([0x01, 0xb0, 0x00, 0x02, 0x01, 0x00]);
    const b1 = (await h.exec(cdb.inquiry(255, 0xb1))).data;
    expect(b1.readUInt16BE(2)).toBe(10);
    expect(b1.toString('latin1', 4)).toBe('SER0000042');
    const b2 = (await h.exec(cdb.inquiry(255, 0xb2))).data;
    expect(b2.length).toBe(16);
    expect([...b2.subarray(0, 4)]).toEqual([0x01, 0xb2, 0x00, 0x0c]);
    expect([...b2.subarray(4, 12)]).toEqual(Array(8).fill(0xff));
    expect([...b2.subarray(12)]).toEqual([0, 0, 0, 0]);
  });

  it('IBM C0h (page length 27h: code name, time, date, platform) and C1h (two 12-byte serials)', async () => {
    const h = await drive('IBM ULT3580-TD9', 'IBM0000007');
    const c0 = (await h.exec(cdb.inquiry(255, 0xc0))).data;
    expect(c0.readUInt16BE(2)).toBe(0x27);
    expect(c0.toString('latin1', 4, 16)).toBe('N9J1'.padEnd(12));
    expect(c0.toString('latin1', 23, 31)).toMatch(/^\d{8}$/);
    expect(c0.toString('latin1', 31, 43)).toBe('ULT3580-TD9 ');
    const c1 = (await h.exec(cdb.inquiry(255, 0xc1))).data;
    expect(c1.readUInt16BE(2)).toBe(0x18);
    expect(c1.toString('latin1', 4, 16)).toBe('IBM0000007  ');
    expect(c1.toString('latin1', 16, 28)).toBe('IBM0000007  ');
  });

  it('two drives have distinct 10-character serials and distinct 83h NAA designators', async () => {
    const a = await drive();
    const b = await new Harness(undefined, { serial: 'TST0000002' }).start();
    harnesses.push(b);
    const naa = async (h: Harness): Promise<string> => {
      const d = (await h.exec(cdb.inquiry(255, 0x83))).data;
      // First designator: NAA (type 3), 8 bytes, NAA 5 in the top nibble.
      expect(d[5] & 0x0f).toBe(3);
      expect(d[8] >> 4).toBe(5);
      return d.subarray(8, 16).toString('hex');
    };
    expect(await naa(a)).not.toBe(await naa(b));
    const s = async (h: Harness): Promise<string> =>
      (await h.exec(cdb.inquiry(255, 0x80))).data.toString('latin1', 4);
    expect((await s(a)).length).toBe(10);
    expect(await s(a)).not.toBe(await s(b));
  });
});

describe('mode pages', () => {
  it('IBM 24h (length 8) and 25h (length 12) with nothing changeable; absent on HP', async () => {
    const h = await drive('IBM ULT3580-TD8');
    for (const [page, length] of [
      [0x24, 8],
      [0x25, 12],
    ]) {
      const r = await h.exec(cdb.modeSense10(page, 255, { dbd: true }));
      expect(r.status).toBe(0);
      expect(r.data.readUInt16BE(0)).toBe(6 + length);
      expect([r.data[8], r.data[9]]).toEqual([page, length - 2]);
      const ch = await h.exec(cdb.modeSense10(page, 255, { dbd: true, pc: 1 }));
      expect([...ch.data.subarray(10)]).toEqual(Array(length - 2).fill(0));
    }
    const hp = await drive('HPE Ultrium 8-SCSI');
    const r = await hp.exec(cdb.modeSense10(0x25, 255));
    expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, fieldPointer: 2 });
  });

  it('3Fh: medium type and density per cartridge (LTO-7 data 78h/5Ch, LTO-8 WORM 8Ch/5Eh), 0 without one', async () => {
    const h = await drive('IBM ULT3580-TD8');
    let r = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    expect([r.data[2], r.data.readUInt16BE(6), r.data[8]]).toEqual([0x00, 8, 0x00]);
    await h.insert({ mediaType: 'LTO7', label: 'MT0001L7' });
    r = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    expect([r.data[2], r.data[8]]).toEqual([0x78, 0x5c]);
    await h.drive.unload();
    await h.insert({ mediaType: 'LTO8-WORM', label: 'MT0002LW' });
    r = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    expect([r.data[2], r.data[8]]).toEqual([0x8c, 0x5e]);
    // Every page of 3Fh is whole: walk them by their lengths to the end of the mode data.
    const end = r.data.readUInt16BE(0) + 2;
    const pages: number[] = [];
    for (let off = 16; off < end; off += 2 + r.data[off + 1]) pages.push(r.data[off] & 0x3f);
    expect(pages).toEqual(expect.arrayContaining([0x0f, 0x10, 0x11, 0x1d, 0x24, 0x25]));
  });
});

describe('REPORT DENSITY SUPPORT', () => {
  /** Density support data (SSC-4): 4-byte header, 52-byte descriptors. */
  function descriptors(
    d: Buffer,
  ): { primary: number; wrtok: boolean; deflt: boolean; capacity: number; name: string }[] {
    expect(d.readUInt16BE(0)).toBe(d.length - 2);
    const out = [];
    for (let off = 4; off < d.length; off += 52) {
      expect(d.readUInt16BE(off + 3)).toBe(0x31);
      out.push({
        primary: d[off],
        wrtok: (d[off + 2] & 0x80) !== 0,
        deflt: (d[off + 2] & 0x20) !== 0,
        capacity: d.readUInt32BE(off + 12),
        name: d.toString('latin1', off + 24, off + 32).trim(),
      });
    }
    return out;
  }

  it('drive form lists what the generation reads; media form the loaded cartridge; LTO-10 is 62h', async () => {
    const h = await drive('IBM ULT3580-TD7');
    expect(descriptors((await h.exec(cdb.reportDensitySupport())).data)).toEqual([
      { primary: 0x5c, wrtok: true, deflt: true, capacity: 6_000_000, name: 'U-732' },
      { primary: 0x5a, wrtok: true, deflt: false, capacity: 2_500_000, name: 'U-616' },
      { primary: 0x58, wrtok: false, deflt: false, capacity: 1_500_000, name: 'U-516' },
    ]);
    // MEDIA=1 without a cartridge: NOT READY 3A/00.
    expect((await h.exec(cdb.reportDensitySupport({ media: true }))).sense).toMatchObject({ asc: 0x3a });
    await h.insert({ mediaType: 'LTO6', label: 'RD0001L6' });
    expect(descriptors((await h.exec(cdb.reportDensitySupport({ media: true }))).data)).toEqual([
      { primary: 0x5a, wrtok: true, deflt: true, capacity: 2_500_000, name: 'U-616' },
    ]);
    const tda = await drive('IBM ULT3580-TDA');
    expect(descriptors((await tda.exec(cdb.reportDensitySupport())).data).map((d) => d.primary)).toEqual([
      0x62,
    ]);
  });
});

describe('REPORT SUPPORTED OPERATION CODES with RCTD', () => {
  it('all commands: 20-byte descriptors with CTDP and a timeouts descriptor (nominal, recommended)', async () => {
    const h = await drive();
    const r = await h.exec(cdb.rsoc({ rctd: true }));
    const length = r.data.readUInt32BE(0);
    expect(length % 20).toBe(0);
    const byOp = new Map<string, { nominal: number; recommended: number }>();
    for (let off = 4; off < 4 + length; off += 20) {
      expect(r.data[off + 5] & 0x02).toBe(0x02); // CTDP
      expect(r.data.readUInt16BE(off + 8)).toBe(0x0a); // timeouts DESCRIPTOR LENGTH
      const sa = r.data[off + 5] & 0x01 ? `/${r.data.readUInt16BE(off + 2)}` : '';
      byOp.set(`${r.data[off].toString(16)}${sa}`, {
        nominal: r.data.readUInt32BE(off + 12),
        recommended: r.data.readUInt32BE(off + 16),
      });
    }
    // IBM LTO-8 recommended timeouts (LTFS ibm_tape.c): WRITE 1500 s, READ 2280 s, FORMAT 3000 s.
    expect(byOp.get('a')).toEqual({ nominal: 5, recommended: 1500 });
    expect(byOp.get('8')).toEqual({ nominal: 5, recommended: 2280 });
    expect(byOp.get('4')).toEqual({ nominal: 60, recommended: 3000 });
    // READ ATTRIBUTE is listed per service action (00h, 01h, 02h, 03h, 05h); WRITE ATTRIBUTE once.
    expect(['8c/0', '8c/1', '8c/2', '8c/3', '8c/5', '8d'].every((k) => byOp.has(k))).toBe(true);
  });

  it('one command with RCTD: SUPPORT 011b, CTDP, usage data, then the 12-byte timeouts descriptor', async () => {
    const h = await drive();
    const r = await h.exec(cdb.rsoc({ rctd: true, options: 1, opcode: 0x0a }));
    expect(r.data.length).toBe(4 + 6 + 12);
    expect([r.data[1], r.data.readUInt16BE(2)]).toEqual([0x83, 6]);
    expect([...r.data.subarray(4, 10)]).toEqual([0x0a, 0x01, 0xff, 0xff, 0xff, 0x00]);
    expect(r.data.readUInt16BE(10)).toBe(0x0a);
    expect([r.data.readUInt32BE(14), r.data.readUInt32BE(18)]).toEqual([5, 1500]);
    // An opcode with service actions asked with option 001b: 24/00 at byte 3 (SPC-4 6.35.2).
    const bad = await h.exec(cdb.rsoc({ rctd: true, options: 1, opcode: 0x8c }));
    expect(bad.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, fieldPointer: 3 });
  });
});

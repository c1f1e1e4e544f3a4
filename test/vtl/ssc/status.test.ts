/**
 * Live status: LOG SENSE 11h, 12h, 14h, 17h, 1Bh, 2Eh, 30h, 31h and LOG SELECT resets; LTO-9
 * media optimization (NOT READY 04/01 polled with TEST UNIT READY, once per cartridge); TapeAlert
 * from events (write protect, injection, expired cleaning cartridge) and conditions (cleaning
 * interval, media life).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { openTapeImage } from '../../../src/vtl/image/index.js';
import type { CreateTapeDriveOptions } from '../../../src/vtl/ssc/index.js';
import { decodeLogPage, num, paramMap } from './decode.js';
import { Harness, cdb } from './harness.js';

const harnesses: Harness[] = [];
async function drive(options: CreateTapeDriveOptions = {}): Promise<Harness> {
  const h = await new Harness(undefined, options).start();
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const x of harnesses.splice(0)) await x.close();
});
const flagsOf = (mask: bigint): number[] =>
  Array.from({ length: 64 }, (_, i) => i + 1).filter((f) => (mask >> BigInt(64 - f)) & 1n);

describe('log pages', () => {
  it('00h lists every page; each answers with its own page code and whole parameters', async () => {
    const h = await drive();
    await h.insert();
    const list = [...(await h.exec(cdb.logSense(0x00))).data.subarray(4)];
    expect(list).toEqual([0x00, 0x0c, 0x11, 0x12, 0x14, 0x17, 0x1b, 0x2e, 0x30, 0x31]);
    for (const page of list.slice(1)) {
      const r = await h.exec(cdb.logSense(page));
      const p = decodeLogPage(r.data);
      expect([p.page, r.data.length]).toEqual([page, 4 + p.length]);
    }
  });

  it('11h VHF data: DINIT set, medium present/threaded bits, activity 0; without a cartridge MPRSNT clear', async () => {
    const h = await drive();
    let v = paramMap((await h.exec(cdb.logSense(0x11))).data).get(0)!;
    expect([v.control, v.value.length]).toEqual([0x03, 4]);
    expect(v.value[0] & 0x01).toBe(1);
    expect(v.value[1] & 0x10).toBe(0);
    await h.insert();
    v = paramMap((await h.exec(cdb.logSense(0x11))).data).get(0)!;
    expect([v.value[0] & 0x21, v.value[1] & 0x13, v.value[2]]).toEqual([0x21, 0x13, 0x00]);
  });

  it('12h: page length 0Ch, parameter 0000h of 8 bytes, flag 1 in the MSB; reading it clears nothing', async () => {
    const h = await drive();
    h.drive.injectTapeAlert(1);
    h.drive.injectTapeAlert(0x14);
    const r = (await h.exec(cdb.logSense(0x12, 512))).data;
    expect([r[0], r[1], r.readUInt16BE(2), r.readUInt16BE(4), r[7]]).toEqual([0x12, 0, 0x0c, 0, 8]);
    expect(flagsOf(r.readBigUInt64BE(8))).toEqual([1, 0x14]);
    expect(flagsOf((await h.exec(cdb.logSense(0x12, 512))).data.readBigUInt64BE(8))).toEqual([1, 0x14]);
    // 2Eh shows them and clears the events: afterwards both pages are empty.
    const te = paramMap((await h.exec(cdb.logSense(0x2e))).data);
    expect([num(te.get(1)!.value), num(te.get(0x14)!.value), num(te.get(2)!.value)]).toEqual([1n, 1n, 0n]);
    expect(flagsOf((await h.exec(cdb.logSense(0x12, 512))).data.readBigUInt64BE(8))).toEqual([]);
    expect(() => h.drive.injectTapeAlert(65)).toThrow(/1..64/);
  });

  it('17h: page valid, mounts, MB written this mount and in life, capacities, WP/WORM, passes, per-partition records', async () => {
    const h = await drive();
    expect(num(paramMap((await h.exec(cdb.logSense(0x17))).data).get(0)!.value)).toBe(0n);
    await h.insert({ label: 'VS0001L8' });
    await h.exec(cdb.write6(0x200000), { dataOut: Buffer.alloc(0x200000) });
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.rewind());
    const p = paramMap((await h.exec(cdb.logSense(0x17))).data);
    const v = (c: number): bigint => num(p.get(c)!.value);
    expect([v(0x0000), v(0x0001), v(0x000e), v(0x0010), v(0x0016)]).toEqual([1n, 1n, 2n, 2n, 12_000_000n]);
    expect([v(0x0080), v(0x0081), v(0x0101)]).toEqual([0n, 0n, 1n]);
    expect(p.get(0x0040)!.value.toString('latin1').trim()).toBe('VS0001L8');
    const rec = p.get(0x0204)!.value;
    expect([rec.length, rec[0], rec.readUInt16BE(2)]).toEqual([8, 7, 0]);
    expect(rec.readUInt32BE(4)).toBe(Math.floor(h.drive.image!.remaining / 1e6));
    expect(rec.readUInt32BE(4)).toBeLessThan(12_000_000);
  });

  it('0Ch and 1Bh count host transfers and are reset by LOG SELECT PCR=1; 14h and 30h/31h are live', async () => {
    const h = await drive();
    await h.insert();
    await h.exec(cdb.write6(1_500_000), { dataOut: Buffer.alloc(1_500_000) });
    let dc = paramMap((await h.exec(cdb.logSense(0x1b))).data);
    expect([num(dc.get(0x0008)!.value), num(dc.get(0x0009)!.value), num(dc.get(0x0001)!.value)]).toEqual([
      1n,
      500_000n,
      100n,
    ]);
    expect((await h.exec(cdb.logSelect({ pcr: true }))).status).toBe(0);
    dc = paramMap((await h.exec(cdb.logSense(0x1b))).data);
    expect(num(dc.get(0x0008)!.value) + num(dc.get(0x0009)!.value)).toBe(0n);
    const ds = paramMap((await h.exec(cdb.logSense(0x14))).data);
    expect(num(ds.get(0x0000)!.value)).toBe(1n);
    expect(ds.get(0x0040)!.value.toString('latin1').trim()).toBe('TST0000001');
    const cap = paramMap((await h.exec(cdb.logSense(0x31))).data);
    expect([num(cap.get(1)!.value), num(cap.get(3)!.value)]).toEqual([
      BigInt(Math.floor((12e12 - 1_500_000) / 1e6)),
      12_000_000n,
    ]);
    expect(num(paramMap((await h.exec(cdb.logSense(0x30))).data).get(1)!.value)).toBe(1n);
  });
});

describe('LTO-9 media optimization', () => {
  it('first load of a new cartridge: TUR answers 04/01 with progress until done, then never again', async () => {
    const h = await drive({ model: 'IBM ULT3580-TD9', mediaOptimizationMs: 150 });
    const image = await h.insert({ mediaType: 'LTO9', label: 'OPT001L9' });
    const first = await h.exec(cdb.testUnitReady());
    expect(first.sense).toMatchObject({ key: SenseKey.NOT_READY, asc: 0x04, ascq: 0x01 });
    expect(first.sense!.progress).toBeLessThan(0x10000);
    // DT device status answers at once, activity 0Bh (calibrating); READ is not ready either.
    expect(paramMap((await h.exec(cdb.logSense(0x11))).data).get(0)!.value[2]).toBe(0x0b);
    expect((await h.exec(cdb.read6(10))).sense).toMatchObject({ asc: 0x04, ascq: 0x01 });
    let polls = 0;
    while ((await h.exec(cdb.testUnitReady())).status !== 0) {
      polls++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(polls).toBeGreaterThan(0);
    await h.drive.unload();
    await image.close();
    const again = await openTapeImage(h.backend, 'OPT001L9');
    await h.drive.load(again);
    await h.clearUnitAttentions();
    expect((await h.exec(cdb.testUnitReady())).status).toBe(0);
  });

  it('LTO-8 media in an LTO-9 drive and LTO-9 drives with 0 ms optimize nothing visible', async () => {
    const h = await drive({ model: 'IBM ULT3580-TD9', mediaOptimizationMs: 1000 });
    await h.insert({ mediaType: 'LTO8', label: 'OPT002L8' });
    expect((await h.exec(cdb.testUnitReady())).status).toBe(0);
    const z = await drive({ model: 'IBM ULT3580-TD9', mediaOptimizationMs: 0, serial: 'TST0000009' });
    await z.insert({ mediaType: 'LTO9', label: 'OPT003L9' });
    expect((await z.exec(cdb.testUnitReady())).status).toBe(0);
  });
});

describe('TapeAlert from events and conditions', () => {
  it('write protect (09h), cleaning interval by bytes (14h until cleaned), expired cleaning media (16h)', async () => {
    const h = await drive({ cleaningIntervalBytes: 1000 });
    await h.insert({ writeProtected: true, label: 'TA0001L8' });
    expect((await h.exec(cdb.write6(4), { dataOut: Buffer.alloc(4) })).sense).toMatchObject({ asc: 0x27 });
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x09]);
    await h.drive.unload();
    await h.insert({ label: 'TA0002L8' });
    await h.exec(cdb.write6(1000), { dataOut: Buffer.alloc(1000) });
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x09, 0x14]);
    await h.exec(cdb.logSense(0x2e));
    // Events are gone after 2Eh; the cleaning condition stays until the drive is cleaned.
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x14]);
    expect(num(paramMap((await h.exec(cdb.logSense(0x0c))).data).get(0x100)!.value)).toBe(1n);
    h.drive.clean({ expired: true });
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x14, 0x16]);
    h.drive.clean();
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x16]);
  });

  it('cleaning by hours of threaded time, and media near / at end of life by loads', async () => {
    let now = 0;
    const h = await drive({ cleaningIntervalHours: 2, mediaLifeLoads: 10, now: () => now });
    const image = await h.insert({ label: 'TA0003L8' });
    now += 3_600_000;
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([]);
    now += 3_600_000;
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x14]);
    image.meta.counters.loads = 9;
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x13, 0x14]);
    image.meta.counters.loads = 10;
    expect(flagsOf(h.drive.tapeAlertMask())).toEqual([0x07, 0x14]);
  });
});

/**
 * Partitions: the medium partition page (SSC-4 11h) per personality, MODE SELECT of a layout
 * and its refusals, FORMAT MEDIUM 0/1/2 with IBM semantics (the layout selected is laid down by
 * FORMAT), st's MTMKPART lists. Using the partitions is in partition-use.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { Harness, block, cdb } from './harness.js';
import { ltfsPartitionList, sensePartitionPage, stPartitionList } from './partition-layout.js';

const GOOD = 0;
const GB = 1e9;
const MB = 1e6;

let h: Harness;
afterEach(async () => {
  await h.close();
});

async function select10(list: Buffer) {
  return h.exec(cdb.modeSelect10(list.length), { dataOut: list });
}

async function writeBlocks(n: number, size = 1024, base = 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await h.exec(cdb.write6(size), { dataOut: block(base + i, size) });
    if (r.status !== GOOD) throw new Error(`WRITE failed: ${r.sense?.name}`);
  }
}

/** A MODE SELECT(10) list asking for partitions of `sizesMb` (IDP, PSUM 10b; FFFFh = rest). */
async function layoutList(sizesMb: number[]): Promise<Buffer> {
  const l = Buffer.from((await sensePartitionPage(h)).list);
  l.writeUInt16BE(0, 0);
  l[16 + 3] = sizesMb.length - 1;
  l[16 + 4] = 0x20 | 0x10 | (l[16 + 4] & 0x07);
  l[16 + 6] = 0;
  l.fill(0, 16 + 8);
  sizesMb.forEach((s, i) => l.writeUInt16BE(s, 16 + 8 + 2 * i));
  return l;
}

/** MODE SELECT a layout and FORMAT MEDIUM 1. */
async function partition(sizesMb: number[]): Promise<void> {
  expect((await select10(await layoutList(sizesMb))).status).toBe(GOOD);
  expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
}

describe('medium partition page 11h', () => {
  beforeEach(async () => {
    h = await new Harness().start();
  });

  it('LTO-8: 3 additional partitions, 4 size descriptors, PSUM 11b in GB, POFM; one partition of 12000 GB', async () => {
    await h.insert();
    const { page } = await sensePartitionPage(h);
    expect(page).toMatchObject({ length: 0x0e, maxAdditional: 3, additional: 0, fdp: false, sdp: false });
    expect(page).toMatchObject({ idp: false, psum: 3, pofm: true, recognition: 0x03, units: 9 });
    expect(page.sizes).toEqual([12000, 0, 0, 0]);
    const mask = (await sensePartitionPage(h, 1)).list.subarray(16);
    expect([...mask.subarray(2, 8)]).toEqual([0x00, 0xff, 0xf8, 0x00, 0x0f, 0x00]);
    expect(mask.readUInt16BE(14)).toBe(0xffff);
  });

  it('LTO-6: one additional partition, page length 0Ah; without a cartridge no sizes', async () => {
    await h.close();
    h = await new Harness(undefined, { model: 'IBM ULT3580-TD6' }).start();
    const empty = (await sensePartitionPage(h)).page;
    expect(empty).toMatchObject({ length: 0x0a, maxAdditional: 1, additional: 0, sizes: [0, 0] });
    await h.insert({ mediaType: 'LTO6' });
    // 2.5 TB in 10^8-byte units (the smallest from MB up that fits 16 bits; HP LTO-7 uses 10^8).
    expect((await sensePartitionPage(h)).page).toMatchObject({ units: 8, sizes: [25000, 0] });
  });

  it('units follow the capacity: a 200 MB cartridge is reported in MB', async () => {
    await h.insert({ capacity: 200 * MB });
    await partition([0xffff, 50]);
    const { page } = await sensePartitionPage(h);
    expect(page).toMatchObject({ additional: 1, idp: true, psum: 3, units: 6, sizes: [150, 50, 0, 0] });
  });
});

describe('MODE SELECT 11h records, FORMAT MEDIUM lays down', () => {
  beforeEach(async () => {
    h = await new Harness().start();
  });

  it('LTFS layout (index partition 0): pending until FORMAT 1, then partition 0 is 1 GB and 1 the rest', async () => {
    await h.insert();
    expect((await select10(await ltfsPartitionList(h, 0))).status).toBe(GOOD);
    expect((await sensePartitionPage(h)).page.additional).toBe(0);
    expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
    const { page } = await sensePartitionPage(h);
    expect(page).toMatchObject({ additional: 1, idp: true, units: 9, sizes: [1, 11999, 0, 0] });
  });

  it('FORMAT 0 ignores the selected layout and leaves one partition; FORMAT 2 applies it', async () => {
    await h.insert();
    await partition([0xffff, 100]);
    await select10(await ltfsPartitionList(h, 1));
    expect((await h.exec(cdb.formatMedium({ format: 0 }))).status).toBe(GOOD);
    expect((await sensePartitionPage(h)).page.additional).toBe(0);
    expect((await select10(await ltfsPartitionList(h, 1))).status).toBe(GOOD);
    expect((await h.exec(cdb.formatMedium({ format: 2 }))).status).toBe(GOOD);
    expect((await sensePartitionPage(h)).page.sizes).toEqual([11999, 1, 0, 0]);
  });

  it('FORMAT 1 without a selection keeps the layout and empties every partition', async () => {
    const image = await h.insert({ capacity: 100 * MB });
    await partition([60, 40]);
    await writeBlocks(3);
    await h.exec(cdb.locate10(0, { cp: true, partition: 1 }));
    await writeBlocks(2);
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
    expect(image.partitionCapacities()).toEqual([60 * MB, 40 * MB]);
    expect(image.partitionBytesUsed()).toEqual([0, 0]);
  });

  it('SDP: ADDITIONAL PARTITIONS DEFINED 3 gives four equal partitions; FDP two', async () => {
    const image = await h.insert({ capacity: 400 * MB });
    const { list } = await sensePartitionPage(h);
    const l = Buffer.from(list);
    l.writeUInt16BE(0, 0);
    l[19] = 3;
    l[20] = 0x40 | (l[20] & 0x1f);
    expect((await select10(l)).status).toBe(GOOD);
    await h.exec(cdb.formatMedium({ format: 1 }));
    expect(image.partitionCapacities()).toEqual([100 * MB, 100 * MB, 100 * MB, 100 * MB]);
    const fresh = Buffer.from((await sensePartitionPage(h)).list);
    fresh.writeUInt16BE(0, 0);
    fresh[20] = 0x80 | (fresh[20] & 0x1f);
    expect((await select10(fresh)).status).toBe(GOOD);
    await h.exec(cdb.formatMedium({ format: 1 }));
    expect(image.partitionCapacities()).toEqual([200 * MB, 200 * MB]);
  });

  it('a selection belongs to its cartridge; a LOGICAL UNIT RESET drops it', async () => {
    const first = await h.insert({ capacity: 100 * MB });
    expect((await select10(await layoutList([0xffff, 10]))).status).toBe(GOOD);
    await h.drive.unload();
    await first.close();
    const second = await h.insert({ capacity: 100 * MB });
    await h.exec(cdb.formatMedium({ format: 1 }));
    expect(second.partitionCount).toBe(1);
    expect((await select10(await layoutList([0xffff, 10]))).status).toBe(GOOD);
    h.drive.resetModeParameters();
    await h.exec(cdb.formatMedium({ format: 1 }));
    expect(second.partitionCount).toBe(1);
  });

  it('refusals: too many partitions, two ways at once, zero, two rests, oversize, odd length, no cartridge', async () => {
    await h.insert({ capacity: 100 * MB });
    const base = Buffer.from((await sensePartitionPage(h)).list);
    base.writeUInt16BE(0, 0);
    const variant = (edit: (l: Buffer) => void): Buffer => {
      const l = Buffer.from(base);
      l[19] = 1;
      l[20] = 0x20 | 0x10 | (l[20] & 0x07);
      l[22] = 0;
      l.writeUInt16BE(0xffff, 24);
      l.writeUInt16BE(10, 26);
      edit(l);
      return l;
    };
    const refused = async (l: Buffer, fieldPointer: number, bitPointer?: number) => {
      const r = await select10(l);
      expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x26, ascq: 0, fieldPointer });
      if (bitPointer !== undefined) expect(r.sense?.bitPointer).toBe(bitPointer);
    };
    await refused(
      variant((l) => (l[19] = 4)),
      19,
    );
    await refused(
      variant((l) => (l[20] |= 0x40)),
      20,
      6,
    );
    await refused(
      variant((l) => l.writeUInt16BE(0, 26)),
      26,
    );
    await refused(
      variant((l) => l.writeUInt16BE(0xffff, 26)),
      26,
    );
    await refused(
      variant((l) => l.writeUInt16BE(200, 26)),
      24,
    );
    await refused(variant((l) => (l[17] = 0x0b)).subarray(0, 16 + 13), 17);
    // MAXIMUM ADDITIONAL PARTITIONS and POFM are not changeable.
    await refused(
      variant((l) => (l[18] = 1)),
      18,
    );
    await refused(
      variant((l) => (l[20] &= ~0x04)),
      20,
      2,
    );
    expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
    expect((await sensePartitionPage(h)).page.additional).toBe(0);
    await h.drive.unload();
    const none = variant(() => undefined);
    expect((await select10(none)).sense).toMatchObject({ key: SenseKey.NOT_READY, asc: 0x3a });
  });

  it('FORMAT away from BOP of partition 0 is 05/3B/0C; a WORM cartridge refuses a new layout (07/30/0C)', async () => {
    await h.insert({ capacity: 100 * MB });
    await partition([50, 50]);
    await h.exec(cdb.locate10(0, { cp: true, partition: 1 }));
    const r = await h.exec(cdb.formatMedium());
    expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x3b, ascq: 0x0c });
    await h.drive.unload();
    await h.insert({ mediaType: 'LTO8-WORM', capacity: 100 * MB });
    expect((await h.exec(cdb.formatMedium())).status).toBe(GOOD);
    expect((await select10(await layoutList([0xffff, 10]))).status).toBe(GOOD);
    const w = await h.exec(cdb.formatMedium({ format: 1 }));
    expect(w.sense).toMatchObject({ key: SenseKey.DATA_PROTECT, asc: 0x30, ascq: 0x0c });
  });

  it('st MTMKPART 100 MB: MODE SELECT(6) with two descriptors (page length 0Ah), FORMAT 1', async () => {
    const image = await h.insert({ capacity: 5 * GB });
    await h.exec(cdb.loadUnload({ load: true }));
    const list = await stPartitionList(h, 100);
    expect(list[12 + 1]).toBe(0x0a);
    expect((await h.exec(cdb.modeSelect6(list.length), { dataOut: list })).status).toBe(GOOD);
    expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
    expect(image.partitionCapacities()).toEqual([4900 * MB, 100 * MB]);
    // mkpartition 0 on a POFM drive: FORMAT MEDIUM 0 alone.
    expect((await h.exec(cdb.formatMedium({ format: 0 }))).status).toBe(GOOD);
    expect(image.partitionCapacities()).toEqual([5 * GB]);
    const gb = await stPartitionList(h, 2000);
    expect(gb[12 + 6]).toBe(9);
    await h.exec(cdb.modeSelect6(gb.length), { dataOut: gb });
    await h.exec(cdb.formatMedium({ format: 1 }));
    expect(image.partitionCapacities()).toEqual([3 * GB, 2 * GB]);
  });
});

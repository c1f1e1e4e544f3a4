/**
 * Using a partitioned cartridge: LTFS's mkltfs sequence (clients.md: MODE SENSE/SELECT 11h,
 * FORMAT MEDIUM 1, label on partition 0 and index on partition 1, LOCATE(16) with CP between
 * them, READ POSITION, READ/WRITE ATTRIBUTE per partition, log 17h partition records), st's
 * MTSETPART (LOCATE(10) CP), READ POSITION short/extended, SPACE/READ/EOD and early warning per
 * partition, the capacity log pages and MAM per partition, and LOCATE to a missing partition.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { attributeList, decodeAttributes, num, paramMap } from './decode.js';
import { Harness, SPACE, block, cdb } from './harness.js';
import { ltfsPartitionList, position } from './partition-layout.js';

const GOOD = 0;
const MB = 1e6;
const MIB = 1 << 20;

let h: Harness;
beforeEach(async () => {
  h = await new Harness().start();
});
afterEach(async () => {
  await h.close();
});

async function write(data: Buffer): Promise<void> {
  const r = await h.exec(cdb.write6(data.length), { dataOut: data });
  if (r.status !== GOOD) throw new Error(`WRITE failed: ${r.sense?.name}`);
}

/** 8-byte partition records of a log 17h parameter (0202h-0204h): partition -> value. */
function partitionRecords(v: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  for (let off = 0; off + 8 <= v.length; off += v[off] + 1)
    m.set(v.readUInt16BE(off + 2), v.readUInt32BE(off + 4));
  return m;
}

/** Partition the loaded cartridge as mkltfs does (index partition 0 of 1 GB, data the rest). */
async function mkltfs(): Promise<void> {
  expect((await h.exec(cdb.loadUnload({ load: true }))).status).toBe(GOOD);
  const list = await ltfsPartitionList(h, 0);
  expect((await h.exec(cdb.modeSelect10(list.length), { dataOut: list })).status).toBe(GOOD);
  expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
}

describe('LTFS mkltfs and mount', () => {
  it('label on partition 0, index on partition 1, LOCATE(16) CP between them, READ POSITION', async () => {
    await h.insert();
    await mkltfs();
    expect(await position(h)).toEqual({ partition: 0, object: 0, file: 0 });
    await write(Buffer.from('VOL1 label partition 0'.padEnd(80)));
    await h.exec(cdb.writeFilemarks6(1));
    expect((await h.exec(cdb.locate16(0, { cp: true, partition: 1 }))).status).toBe(GOOD);
    expect(await position(h)).toEqual({ partition: 1, object: 0, file: 0 });
    await write(Buffer.from('VOL1 label partition 1'.padEnd(80)));
    await h.exec(cdb.writeFilemarks6(1));
    await write(Buffer.from('<ltfsindex generation="1"/>'));
    await h.exec(cdb.writeFilemarks6(1));
    expect(await position(h)).toEqual({ partition: 1, object: 4, file: 2 });

    // Back to partition 0 block 0: the label written there is intact.
    expect((await h.exec(cdb.locate16(0, { cp: true, partition: 0 }))).status).toBe(GOOD);
    const label = await h.exec(cdb.read6(80, { sili: true }));
    expect(label.data.toString('latin1', 0, 22)).toBe('VOL1 label partition 0');
    // LOCATE to the largest block of partition 1 ends at its EOD with BLANK CHECK (LTFS finds EOD so).
    const eod = await h.exec(cdb.locate16(0xffffffffn, { cp: true, partition: 1 }));
    expect(eod.sense).toMatchObject({ key: SenseKey.BLANK_CHECK, asc: 0, ascq: 5 });
    expect(await position(h)).toEqual({ partition: 1, object: 4, file: 2 });
    // LOCATE(16) to logical file 1 of partition 1 with CP from partition 0.
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.locate16(1, { cp: true, partition: 1, destType: 1 }))).status).toBe(GOOD);
    expect(await position(h)).toEqual({ partition: 1, object: 2, file: 1 });
    const index = await h.exec(cdb.read6(1024, { sili: true }));
    expect(index.data.toString('latin1')).toBe('<ltfsindex generation="1"/>');
    // REWIND goes to BOP of partition 0 (IBM: "the logical position is set to BOM").
    await h.exec(cdb.rewind());
    expect(await position(h)).toEqual({ partition: 0, object: 0, file: 0 });
  });

  it('volume coherency (080Ch) per partition; volume attributes shared; 17h per-partition records', async () => {
    await h.insert();
    await mkltfs();
    const vci = (p: number) => ({ id: 0x080c, format: 0, value: Buffer.alloc(70, 0x10 + p) });
    for (const p of [0, 1]) {
      const list = attributeList(vci(p));
      const r = await h.exec(cdb.writeAttribute(list.length, { partition: p }), { dataOut: list });
      expect(r.status).toBe(GOOD);
    }
    const name = attributeList({ id: 0x0801, format: 1, value: Buffer.from('LTFS'.padEnd(32)) });
    await h.exec(cdb.writeAttribute(name.length, { partition: 1 }), { dataOut: name });
    for (const p of [0, 1]) {
      const r = await h.exec(cdb.readAttribute({ partition: p }));
      const a = decodeAttributes(r.data).attributes;
      expect(a.get(0x080c)?.value).toEqual(vci(p).value);
      expect(a.get(0x0801)?.value.toString('latin1').trim()).toBe('LTFS');
    }
    // READ ATTRIBUTE partition list (SA 03h): first partition 0, two partitions.
    const list = await h.exec(cdb.readAttribute({ sa: 0x03 }));
    expect([...list.data]).toEqual([0x00, 0x02, 0x00, 0x02]);

    await write(Buffer.alloc(3 * MB));
    const page = paramMap((await h.exec(cdb.logSense(0x17))).data);
    const native = partitionRecords(page.get(0x0202)!.value);
    const used = partitionRecords(page.get(0x0203)!.value);
    const remaining = partitionRecords(page.get(0x0204)!.value);
    expect([...native]).toEqual([
      [0, 1000],
      [1, 11_999_000],
    ]);
    expect(used.get(0)).toBe(3);
    expect(used.get(1)).toBe(0);
    expect(remaining.get(0)).toBe(997);
    expect(remaining.get(1)).toBe(11_999_000);

    // FORMAT back to one partition: partition 1 and its attributes are gone.
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.formatMedium())).status).toBe(GOOD);
    const gone = await h.exec(cdb.readAttribute({ partition: 1 }));
    expect(gone.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, fieldPointer: 7 });
    const p0 = decodeAttributes((await h.exec(cdb.readAttribute({ partition: 0 }))).data).attributes;
    expect(p0.get(0x080c)?.value).toEqual(vci(0).value);
  });
});

describe('positioning, capacity and early warning per partition', () => {
  /** Two partitions of `sizesMb` on a cartridge of their sum (MODE SELECT IDP in MB, FORMAT 1). */
  async function twoPartitions(sizesMb: [number, number], earlyWarning?: number): Promise<void> {
    const capacity = (sizesMb[0] + sizesMb[1]) * MB;
    await h.insert({ capacity, ...(earlyWarning === undefined ? {} : { earlyWarning }) });
    const l = Buffer.from((await h.exec(cdb.modeSense10(0x11, 255))).data);
    l.writeUInt16BE(0, 0);
    l[19] = 1;
    l[20] = 0x20 | 0x10 | (l[20] & 0x07);
    l[22] = 0;
    l.writeUInt16BE(sizesMb[0], 24);
    l.writeUInt16BE(sizesMb[1], 26);
    expect((await h.exec(cdb.modeSelect10(l.length), { dataOut: l })).status).toBe(GOOD);
    expect((await h.exec(cdb.formatMedium({ format: 1 }))).status).toBe(GOOD);
  }

  it('st MTSETPART: LOCATE(10) CP; short and extended READ POSITION carry the partition; EOD and SPACE per partition', async () => {
    await twoPartitions([50, 50]);
    for (let i = 0; i < 3; i++) await write(block(i, 512));
    expect((await h.exec(cdb.locate10(0, { cp: true, partition: 1 }))).status).toBe(GOOD);
    await write(block(100, 512));
    const short = await h.exec(cdb.readPosition(0x00));
    expect(short.data.length).toBe(20);
    expect(short.data[1]).toBe(1);
    expect(short.data.readUInt32BE(4)).toBe(1);
    const ext = await h.exec(cdb.readPosition(0x08, 32));
    expect(ext.data[1]).toBe(1);
    expect(ext.data.readUInt16BE(2)).toBe(0x1c);
    // SPACE EOD stays in partition 1; READ at EOD is BLANK CHECK; SPACE -1 block reads block 100.
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect(await position(h)).toEqual({ partition: 1, object: 1, file: 0 });
    expect((await h.exec(cdb.read6(512))).sense).toMatchObject({ key: SenseKey.BLANK_CHECK, ascq: 5 });
    await h.exec(cdb.space6(SPACE.BLOCKS, -1));
    expect((await h.exec(cdb.read6(512))).data).toEqual(block(100, 512));
    // Back in partition 0 everything written there is still there.
    await h.exec(cdb.locate10(2, { cp: true, partition: 0 }));
    expect((await h.exec(cdb.read6(512))).data).toEqual(block(2, 512));
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect(await position(h)).toEqual({ partition: 0, object: 3, file: 0 });
  });

  it('LOCATE to a partition the cartridge lacks: ILLEGAL REQUEST 24/00 at PARTITION, the head stays', async () => {
    await twoPartitions([50, 50]);
    await write(block(0, 512));
    const r10 = await h.exec(cdb.locate10(0, { cp: true, partition: 2 }));
    expect(r10.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, ascq: 0, fieldPointer: 8 });
    const r16 = await h.exec(cdb.locate16(0, { cp: true, partition: 3 }));
    expect(r16.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, ascq: 0, fieldPointer: 3 });
    expect(await position(h)).toEqual({ partition: 0, object: 1, file: 0 });
  });

  it("early warning is the partition's share: a small partition warns near its own end, not the tape's", async () => {
    // Cartridge 10 MB with early warning 1 MB: partition 1 of 2 MB warns 200 KB before its end.
    await twoPartitions([8, 2], 1 * MB);
    await h.exec(cdb.locate10(0, { cp: true, partition: 1 }));
    const chunk = 100_000;
    for (let i = 0; i < 17; i++) await write(Buffer.alloc(chunk, i)); // 1.7 MB: 300 KB left, no warning
    const w = await h.exec(cdb.write6(chunk), { dataOut: Buffer.alloc(chunk) }); // 200 KB left: warning
    expect(w.sense).toMatchObject({ key: SenseKey.NO_SENSE, asc: 0, ascq: 2, eom: true });
    const long = await h.exec(cdb.readPosition(0x06));
    expect(long.data[0] & 0x41).toBe(0x41); // EOP and BPEW
    await write(Buffer.alloc(chunk)).catch(() => undefined);
    const over = await h.exec(cdb.write6(150_000), { dataOut: Buffer.alloc(150_000) });
    expect(over.sense).toMatchObject({ key: SenseKey.VOLUME_OVERFLOW, eom: true });
    // Partition 0 is untouched by it: MAM remaining capacity per partition, log 31h.
    const mam = async (p: number) =>
      decodeAttributes((await h.exec(cdb.readAttribute({ partition: p }))).data).attributes;
    expect(num((await mam(0)).get(0x0000)!.value)).toBe(BigInt(Math.floor((8 * MB) / MIB)));
    expect(num((await mam(1)).get(0x0001)!.value)).toBe(BigInt(Math.floor((2 * MB) / MIB)));
    expect(num((await mam(1)).get(0x0000)!.value)).toBe(0n);
    const cap = paramMap((await h.exec(cdb.logSense(0x31))).data);
    expect([1, 2, 3, 4].map((c) => Number(num(cap.get(c)!.value)))).toEqual([8, 0, 8, 2]);
  });
});

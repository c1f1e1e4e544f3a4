/**
 * Partitions (SSC-4 4.2.3; LTFS needs two), run by the backend contract suite for each backend:
 * FORMAT MEDIUM layouts, records, filemarks, EOD and capacity per partition, LOCATE changing
 * partition, and the layout kept in cartridge.json.
 */
import { describe, expect, it } from 'vitest';
import { chunkFileName, type ChunkedTapeImage } from '../../../src/vtl/image/index.js';
import { block, expectVtlError, type ImageContext } from './describe-image-backend.js';

/** Reads to EOD: `<length>:<seed>` per block (see blocks.ts), 'F' per filemark. */
async function readAll(img: ChunkedTapeImage): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await img.read();
    if (r.kind === 'eod') return out;
    if (r.kind === 'filemark') out.push('F');
    else {
      const len = r.data.length;
      out.push(
        `${len}:${Array.from({ length: 256 }, (_, i) => i).find((i) => r.data.equals(block(i, len)))}`,
      );
    }
  }
}

const meta = async (ctx: ImageContext): Promise<Record<string, unknown>> => {
  const s = await ctx.store();
  return JSON.parse((await s.read('cartridge.json', 0, 1 << 16)).toString()) as Record<string, unknown>;
};

export function describePartitions(ctx: ImageContext): void {
  describe('partitions', () => {
    it('has one partition of the whole capacity until formatted', async () => {
      const img = await ctx.create({ capacity: 50_000 });
      expect(img.partitionCount).toBe(1);
      expect(img.partitionCapacities()).toEqual([50_000]);
      expect(await meta(ctx)).not.toHaveProperty('partitions');
    });

    it('keeps records, filemarks and EOD per partition, across LOCATE and reopen', async () => {
      const img = await ctx.create({ capacity: 50_000 });
      await img.format([20_000, 30_000]);
      expect(img.partitionCount).toBe(2);
      expect(img.partitionCapacities()).toEqual([20_000, 30_000]);
      expect(img.position()).toMatchObject({ partition: 0, objectNumber: 0, bop: true, eod: true });
      for (const n of [1, 2, 3]) await img.writeBlock(block(n, 10 * n));
      await img.writeFilemarks(1);
      expect(await img.locate(0, 1)).toEqual({ moved: 0, stop: null });
      expect(img.position()).toMatchObject({ partition: 1, objectNumber: 0, bop: true, eod: true });
      expect(img.objectCount).toBe(0);
      await img.writeBlock(block(7, 70));
      await img.writeFilemarks(1);
      await img.writeBlock(block(8, 80));
      expect(img.position()).toMatchObject({ partition: 1, objectNumber: 3, fileNumber: 1, eod: true });
      expect(await img.locate(1, 0)).toEqual({ moved: 1, stop: null });
      expect(img.position()).toMatchObject({ partition: 0, objectNumber: 1, fileNumber: 0 });
      expect(await readAll(img)).toEqual(['20:2', '30:3', 'F']);
      expect(await img.locate(9, 1)).toEqual({ moved: 3, stop: 'eod' });
      await img.locate(0, 1);
      expect(await img.locateFile(1)).toEqual({ moved: 2, stop: null });
      expect(await readAll(img)).toEqual(['80:8']);
      await img.rewind(); // REWIND goes to partition 0
      expect(img.position()).toMatchObject({ partition: 0, objectNumber: 0, bop: true });
      await img.close();
      expect(await meta(ctx)).toMatchObject({ formatVersion: 1, partitions: [20_000, 30_000] });
      const s = await ctx.store();
      expect(await s.files()).toEqual(
        expect.arrayContaining([chunkFileName('TAPE01', 1), 'TAPE01.p1.img.000001', 'TAPE01.p1.idx']),
      );
      const again = await ctx.open();
      expect(again.partitionCapacities()).toEqual([20_000, 30_000]);
      expect(again.position()).toMatchObject({ partition: 0, objectNumber: 0 });
      expect(await readAll(again)).toEqual(['10:1', '20:2', '30:3', 'F']);
      await again.locate(0, 1);
      expect(await readAll(again)).toEqual(['70:7', 'F', '80:8']);
      await expectVtlError(again.locate(0, 2), 'ERR_INVALID_ARGUMENT', /partition 2 does not exist/);
      expect(again.position().partition).toBe(1);
    });

    it('accounts capacity and early warning per partition', async () => {
      const img = await ctx.create({ capacity: 20_000, earlyWarning: 2000 });
      await img.format([10_000, 5000]);
      await img.locate(0, 1);
      expect(img.remaining).toBe(5000);
      await img.writeBlock(block(1, 4400));
      expect(img.position().beyondEarlyWarning).toBe(false);
      await img.writeBlock(block(2, 100)); // 500 = 2000 * 5000 / 20000 before the end
      expect(img.position().beyondEarlyWarning).toBe(true);
      await expectVtlError(
        img.writeBlock(block(3, 501)),
        'ERR_STATE',
        /VOLUME OVERFLOW: 501 bytes do not fit \(500 remaining\)/,
      );
      await img.writeBlock(block(4, 500));
      expect(img.remaining).toBe(0);
      await img.locate(0, 0);
      expect(img.remaining).toBe(10_000);
      await img.writeBlock(block(5, 9000));
      expect(img.position().beyondEarlyWarning).toBe(true); // 1000 before the end of 10,000
    });

    it('FORMAT destroys every record, also after reopening, and drops removed partitions', async () => {
      const img = await ctx.create({ capacity: 90_000 });
      await img.format([30_000, 30_000, 30_000]);
      for (const p of [0, 1, 2]) {
        await img.locate(0, p);
        for (let i = 0; i < 3; i++) await img.writeBlock(block(p, 100));
      }
      await img.sync();
      await img.locate(2, 1);
      await img.format([40_000, 50_000]);
      expect(img.partitionCapacities()).toEqual([40_000, 50_000]);
      expect(img.position()).toMatchObject({ partition: 0, objectNumber: 0, eod: true });
      expect(img.objectCount).toBe(0);
      await img.locate(0, 1);
      expect(img.objectCount).toBe(0);
      expect(await img.read()).toEqual({ kind: 'eod' });
      const s = await ctx.store();
      expect((await s.files()).filter((f) => f.includes('.p2.') || f === 'checkpoint.p2.json')).toEqual([]);
      await img.abandon();
      const again = await ctx.open();
      expect(again.partitionCount).toBe(2);
      expect(await readAll(again)).toEqual([]);
      await again.locate(0, 1);
      expect(await readAll(again)).toEqual([]);
      await again.format(null);
      expect(again.partitionCapacities()).toEqual([90_000]);
      expect(await meta(ctx)).not.toHaveProperty('partitions');
      await again.writeBlock(block(9, 10));
      await again.close();
      const single = await ctx.open();
      expect(single.partitionCount).toBe(1);
      expect(await readAll(single)).toEqual(['10:9']);
    });

    it('refuses layouts that do not fit and cartridges that cannot be formatted', async () => {
      const img = await ctx.create({ capacity: 10_000 });
      await expectVtlError(
        img.format([1, 1, 1, 1, 1]),
        'ERR_INVALID_ARGUMENT',
        /give 1\.\.4 partition sizes/,
      );
      await expectVtlError(
        img.format([6000, 5000]),
        'ERR_INVALID_ARGUMENT',
        /11000 bytes exceed the capacity of 10000/,
      );
      await expectVtlError(
        img.format([0, 5000]),
        'ERR_INVALID_ARGUMENT',
        /partition 0 size is not a positive integer/,
      );
      await expectVtlError(img.format([]), 'ERR_INVALID_ARGUMENT');
      expect(img.partitionCount).toBe(1);
      const wp = await ctx.create({ label: 'WP', writeProtected: true });
      await expectVtlError(wp.format([1000, 1000]), 'ERR_STATE', /write-protected/);
      const worm = await ctx.create({ label: 'WORM', mediaType: 'LTO8-WORM' });
      await expectVtlError(worm.format(null), 'ERR_STATE', /WORM/);
      await img.close();
      const s = await ctx.store();
      const m = await meta(ctx);
      await s.writeAtomic('cartridge.json', Buffer.from(JSON.stringify({ ...m, partitions: [8000, 8000] })));
      await expectVtlError(ctx.open(), 'ERR_IMAGE', /cartridge\.json: partitions: .*16000 bytes exceed/);
    });

    it('recovers each partition after a crash: synced data kept, the unsynced tail cut cleanly', async () => {
      const img = await ctx.create({ capacity: 100_000, chunkSize: 1000 });
      await img.format([50_000, 50_000]);
      for (const p of [0, 1]) {
        await img.locate(0, p);
        for (let i = 0; i < 5; i++) await img.writeBlock(block(p * 10 + i, 200));
      }
      await img.sync();
      await img.writeBlock(block(99, 200)); // partition 1, flushed, not synced
      await img.writeFilemarks(0);
      await img.locate(2, 0);
      await img.writeBlock(block(98, 200)); // overwrites partition 0 from object 2, staged only
      await img.abandon();
      const s = await ctx.store();
      const last = 'TAPE01.p1.img.000002';
      await s.truncate(last, (await s.size(last)) - 7); // partition 1's last record is torn
      const again = await ctx.open();
      // Partition 0 was being overwritten from object 2: the write was lost, the cut was not.
      expect(await readAll(again)).toEqual(['200:0', '200:1']);
      await again.locate(0, 1);
      expect(again.objectCount).toBe(5);
      expect(await readAll(again)).toEqual(['200:10', '200:11', '200:12', '200:13', '200:14']);
    });
  });
}

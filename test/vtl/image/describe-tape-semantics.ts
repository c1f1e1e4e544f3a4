/**
 * Tape semantics (SSC-4) through TapeImage, run by the backend contract suite for each backend.
 */
import { describe, expect, it } from 'vitest';
import {
  chunkFileName,
  FILEMARK_CAPACITY_COST,
  filemarkFileName,
  indexFileName,
  type ChunkedTapeImage,
} from '../../../src/vtl/image/index.js';
import type { Logger } from '../../../src/util/log.js';
import { block, expectVtlError, type ImageContext } from './describe-image-backend.js';

/** Writes data blocks 'd' (sizes) and filemarks 'F': e.g. [10, 20, 'F', 30]. */
async function record(img: ChunkedTapeImage, layout: (number | 'F')[]): Promise<void> {
  let n = 0;
  for (const item of layout) {
    if (item === 'F') await img.writeFilemarks(1);
    else await img.writeBlock(block(n, item));
    n++;
  }
}

async function readAll(img: ChunkedTapeImage): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await img.read();
    if (r.kind === 'eod') return out;
    out.push(r.kind === 'data' ? `d${r.data.length}` : 'F');
  }
}

export function describeTapeSemantics(ctx: ImageContext): void {
  describe('tape semantics', () => {
    it('reads back what was written, byte for byte, and stays at EOD', async () => {
      const img = await ctx.create();
      const sizes = [1, 4096, 0, 70_000, 3];
      for (const [i, s] of sizes.entries()) await img.writeBlock(block(i, s));
      expect(img.objectCount).toBe(5);
      expect(img.position()).toMatchObject({ objectNumber: 5, eod: true, bop: false });
      await img.rewind();
      for (const [i, s] of sizes.entries()) {
        const r = await img.read();
        expect(r.kind).toBe('data');
        if (r.kind === 'data') expect(r.data.equals(block(i, s))).toBe(true);
      }
      expect(await img.read()).toEqual({ kind: 'eod' });
      expect(await img.read()).toEqual({ kind: 'eod' });
      expect(img.position().objectNumber).toBe(5);
    });

    it('moves past a filemark on read and counts files', async () => {
      const img = await ctx.create();
      await record(img, [10, 'F', 20, 'F']);
      await img.rewind();
      expect((await img.read()).kind).toBe('data');
      expect(await img.read()).toEqual({ kind: 'filemark' });
      expect(img.position()).toMatchObject({ objectNumber: 2, fileNumber: 1 });
      expect((await img.read()).kind).toBe('data');
      expect(await img.read()).toEqual({ kind: 'filemark' });
      expect(img.position()).toMatchObject({ objectNumber: 4, fileNumber: 2, eod: true });
    });

    it('SPACE blocks forward stops after a filemark, backward before it (SSC-4 7.8)', async () => {
      const img = await ctx.create();
      await record(img, [10, 10, 'F', 10, 10, 10, 'F', 10]);
      await img.rewind();
      expect(await img.spaceBlocks(1)).toEqual({ moved: 1, stop: null });
      expect(await img.spaceBlocks(5)).toEqual({ moved: 1, stop: 'filemark' });
      expect(img.position()).toMatchObject({ objectNumber: 3, fileNumber: 1 });
      expect(await img.spaceBlocks(3)).toEqual({ moved: 3, stop: null });
      expect(await img.spaceBlocks(-2)).toEqual({ moved: 2, stop: null });
      expect(await img.spaceBlocks(-5)).toEqual({ moved: 1, stop: 'filemark' });
      expect(img.position()).toMatchObject({ objectNumber: 2, fileNumber: 0 });
      expect(await img.read()).toEqual({ kind: 'filemark' });
      expect(await img.spaceBlocks(-1)).toEqual({ moved: 0, stop: 'filemark' });
      expect(img.position().objectNumber).toBe(2);
      await img.locate(1);
      expect(await img.spaceBlocks(-4)).toEqual({ moved: 1, stop: 'bop' });
      expect(img.position()).toMatchObject({ objectNumber: 0, bop: true });
      await img.locate(7);
      expect(await img.spaceBlocks(4)).toEqual({ moved: 1, stop: 'eod' });
      expect(img.position()).toMatchObject({ objectNumber: 8, eod: true });
      expect(await img.spaceBlocks(0)).toEqual({ moved: 0, stop: null });
    });

    it('SPACE filemarks ends after the n-th forward, on the BOP side backward', async () => {
      const img = await ctx.create();
      await record(img, [10, 'F', 10, 'F', 10, 'F', 10]);
      await img.rewind();
      expect(await img.spaceFilemarks(2)).toEqual({ moved: 2, stop: null });
      expect(img.position()).toMatchObject({ objectNumber: 4, fileNumber: 2 });
      expect(await img.spaceFilemarks(-1)).toEqual({ moved: 1, stop: null });
      expect(img.position()).toMatchObject({ objectNumber: 3, fileNumber: 1 });
      expect(await img.spaceFilemarks(5)).toEqual({ moved: 2, stop: 'eod' });
      expect(img.position()).toMatchObject({ objectNumber: 7, eod: true, fileNumber: 3 });
      expect(await img.spaceFilemarks(-5)).toEqual({ moved: 3, stop: 'bop' });
      expect(img.position().objectNumber).toBe(0);
      await img.spaceToEod();
      expect(img.position()).toMatchObject({ objectNumber: 7, eod: true });
    });

    it('LOCATE by object and by file, stopping at EOD beyond it', async () => {
      const img = await ctx.create();
      await record(img, [10, 11, 'F', 12, 'F', 13]);
      expect(await img.locate(3)).toEqual({ moved: 3, stop: null });
      const r = await img.read();
      expect(r.kind === 'data' && r.data.equals(block(3, 12))).toBe(true);
      expect(await img.locate(99)).toEqual({ moved: 2, stop: 'eod' });
      expect(img.position()).toMatchObject({ objectNumber: 6, eod: true });
      expect(await img.locateFile(2)).toEqual({ moved: 1, stop: null });
      expect(img.position()).toMatchObject({ objectNumber: 5, fileNumber: 2 });
      expect(await img.locateFile(1)).toEqual({ moved: 2, stop: null });
      expect(img.position()).toMatchObject({ objectNumber: 3, fileNumber: 1 });
      expect(await img.locateFile(0)).toEqual({ moved: 3, stop: null });
      expect(await img.locateFile(3)).toEqual({ moved: 6, stop: 'eod' });
      await expectVtlError(img.locate(-1), 'ERR_INVALID_ARGUMENT');
    });

    it('writing in the middle discards what follows, also after reopening', async () => {
      const img = await ctx.create();
      await record(img, [10, 'F', 20, 'F', 30, 'F']);
      await img.locate(2);
      await img.writeBlock(block(99, 5));
      expect(img.objectCount).toBe(3);
      expect(img.bytesUsed).toBe(10 + FILEMARK_CAPACITY_COST + 5);
      expect(await img.spaceFilemarks(1)).toEqual({ moved: 0, stop: 'eod' });
      await img.writeFilemarks(1);
      await img.close();
      const again = await ctx.open();
      expect(await readAll(again)).toEqual(['d10', 'F', 'd5', 'F']);
      expect(again.position()).toMatchObject({ fileNumber: 2, objectNumber: 4 });
      await again.locate(1);
      await again.erase();
      expect(again.objectCount).toBe(1);
      await again.rewind();
      expect(await readAll(again)).toEqual(['d10']);
    });

    it('lays records in chunk files of at most chunkSize; a larger record gets its own', async () => {
      const img = await ctx.create({ chunkSize: 1000 });
      await record(img, [400, 400, 'F', 100, 3000, 10]);
      await img.sync();
      const s = await ctx.store();
      const sizes: number[] = [];
      for (let c = 1; (await s.size(chunkFileName('TAPE01', c))) >= 0; c++)
        sizes.push(await s.size(chunkFileName('TAPE01', c)));
      // 432 + 432 + 32 (filemark) | 132 | 3032 alone | 42
      expect(sizes).toEqual([896, 132, 3032, 42]);
      await img.rewind();
      expect(await readAll(img)).toEqual(['d400', 'd400', 'F', 'd100', 'd3000', 'd10']);
      await img.locate(4);
      const r = await img.read();
      expect(r.kind === 'data' && r.data.equals(block(4, 3000))).toBe(true);
      await img.locate(4);
      await img.writeBlock(block(7, 1));
      await img.sync();
      // Cut logically: chunk 2 is overwritten in place, chunks 3 and 4 stay for the next pass.
      expect(await s.files()).toEqual(
        [
          'TAPE01.fm',
          'TAPE01.idx',
          'TAPE01.img.000001',
          'TAPE01.img.000002',
          'TAPE01.img.000003',
          'TAPE01.img.000004',
          'cartridge.json',
          'checkpoint.json',
        ].sort(),
      );
      expect(await s.size(chunkFileName('TAPE01', 2))).toBe(132 + 33);
      expect(img.staleBytes()).toEqual([3032 + 42]);
      await img.locate(4);
      await img.writeBlock(block(8, 3000)); // does not fit in chunk 2: goes to chunk 3, in place
      expect(img.staleBytes()).toEqual([42]);
      await img.rewind();
      expect(await readAll(img)).toEqual(['d400', 'd400', 'F', 'd100', 'd3000']);
      await img.close();
      const again = await ctx.open('TAPE01', { trimThreshold: 1 });
      expect(again.objectCount).toBe(5);
      expect(again.staleBytes()).toEqual([42]);
      await again.close(); // above the (test) threshold: chunk 4 is given back
      expect(await s.files()).not.toContain(chunkFileName('TAPE01', 4));
      const third = await ctx.open();
      expect(third.staleBytes()).toEqual([0]);
      await third.locate(4);
      const r2 = await third.read();
      expect(r2.kind === 'data' && r2.data.equals(block(8, 3000))).toBe(true);
    });

    it('accounts capacity, early warning and counters', async () => {
      const img = await ctx.create({ capacity: 10_000, earlyWarning: 1000 });
      expect(img.remaining).toBe(10_000);
      await img.writeBlock(block(0, 8000));
      await img.writeFilemarks(1);
      expect(img.bytesUsed).toBe(8000 + FILEMARK_CAPACITY_COST);
      expect(img.position().beyondEarlyWarning).toBe(false);
      await img.writeBlock(block(2, 1000));
      expect(img.position().beyondEarlyWarning).toBe(true);
      expect(img.remaining).toBe(10_000 - 9000 - FILEMARK_CAPACITY_COST);
      await expectVtlError(img.writeBlock(block(3, 1000)), 'ERR_STATE', /VOLUME OVERFLOW/);
      await img.rewind();
      expect(img.position().beyondEarlyWarning).toBe(false);
      await img.read();
      await img.close();
      const again = await ctx.open();
      expect(again.meta.counters).toMatchObject({ bytesWritten: 9000, bytesRead: 8000 });
      expect(again.bytesUsed).toBe(9000 + FILEMARK_CAPACITY_COST);
    });

    it('refuses writes to write-protected, cleaning and (overwriting) WORM cartridges', async () => {
      const wp = await ctx.create({ label: 'WP', writeProtected: true });
      await expectVtlError(wp.writeBlock(block(0, 1)), 'ERR_STATE', /write-protected/);
      await expectVtlError(wp.writeFilemarks(1), 'ERR_STATE', /write-protected/);
      const cln = await ctx.create({ label: 'CLN', mediaType: 'CLEANING' });
      await expectVtlError(cln.writeBlock(block(0, 1)), 'ERR_STATE', /cleaning cartridge/);
      const worm = await ctx.create({ label: 'WORM', mediaType: 'LTO8-WORM' });
      await record(worm, [10, 'F', 'F']);
      await worm.locate(2);
      await worm.writeBlock(block(5, 5)); // overwriting trailing filemarks is allowed
      await worm.locate(0);
      await expectVtlError(worm.writeBlock(block(6, 5)), 'ERR_STATE', /WORM/);
      await expectVtlError(worm.erase(), 'ERR_STATE', /WORM/);
      await worm.rewind();
      expect(await readAll(worm)).toEqual(['d10', 'F', 'd5']);
    });

    it('refuses use after close', async () => {
      const img = await ctx.create();
      await img.close();
      await expectVtlError(img.read(), 'ERR_STATE', /closed/);
      await expectVtlError(img.writeBlock(block(0, 1)), 'ERR_STATE', /closed/);
    });
  });

  describe('crash recovery', () => {
    /** Writes 5 synced blocks then 5 more that are flushed to the store but never synced. */
    async function crashed(): Promise<void> {
      const img = await ctx.create({ chunkSize: 1 << 20 });
      for (let i = 0; i < 5; i++) await img.writeBlock(block(i, 100 + i));
      await img.sync();
      for (let i = 5; i < 10; i++) await img.writeBlock(block(i, 100 + i));
      await img.writeFilemarks(0);
      await img.writeBlock(block(10, 5)); // staged only: a crash loses it
      await img.abandon();
    }

    async function readBack(expected: number): Promise<void> {
      const img = await ctx.open();
      expect(img.objectCount).toBe(expected);
      for (let i = 0; i < expected; i++) {
        const r = await img.read();
        expect(r.kind === 'data' && r.data.equals(block(i, 100 + i))).toBe(true);
      }
      expect(await img.read()).toEqual({ kind: 'eod' });
      await img.writeBlock(block(expected, 100 + expected));
      await img.close();
      const again = await ctx.open();
      expect(again.objectCount).toBe(expected + 1);
      await again.locate(expected);
      const r = await again.read();
      expect(r.kind === 'data' && r.data.equals(block(expected, 100 + expected))).toBe(true);
    }

    const chunk1 = chunkFileName('TAPE01', 1);

    it('keeps flushed records and loses only the staged one', async () => {
      await crashed();
      await readBack(10);
    });

    it('cuts a chunk truncated mid-record back to the last whole record', async () => {
      await crashed();
      const s = await ctx.store();
      await s.truncate(chunk1, (await s.size(chunk1)) - 50);
      await readBack(9);
      expect(await s.size(chunk1)).toBe(10 * 32 + [...Array(10).keys()].reduce((n, i) => n + 100 + i, 0));
    });

    it('cuts garbage appended after the last record', async () => {
      await crashed();
      const s = await ctx.store();
      await s.append(chunk1, Buffer.alloc(77, 0xee));
      await readBack(10);
    });

    it('re-checks the records after the last sync when the last one does not match its index entry', async () => {
      // Power loss: index pages reached the disk, the last data pages did not (zeros).
      await crashed();
      const s = await ctx.store();
      const size = await s.size(chunk1);
      const bytes = await s.read(chunk1, 0, size);
      bytes.fill(0, size - 40);
      await s.truncate(chunk1, 0);
      await s.append(chunk1, bytes);
      const repairs: unknown[] = [];
      const logger = { warn: (_m: string, f?: Record<string, unknown>) => repairs.push(f?.repair) };
      const img = await ctx.open('TAPE01', { logger: logger as unknown as Logger });
      expect(repairs).toEqual([
        're-checking 5 records written after the last sync',
        expect.stringMatching(/^cut the data at chunk TAPE01\.img\.000001 offset \d+ \(CRC32C mismatch/),
        'indexed 4 records after the last indexed one',
      ]);
      expect(img.objectCount).toBe(9);
      await img.close();
      await readBack(9);
    });

    it('rebuilds a deleted index and filemark list from the chunks', async () => {
      const img = await ctx.create({ chunkSize: 300 });
      await record(img, [100, 'F', 101, 102, 'F', 'F', 103]);
      await img.close();
      const s = await ctx.store();
      await s.unlink(indexFileName('TAPE01'));
      await s.unlink(filemarkFileName('TAPE01'));
      const again = await ctx.open();
      expect(again.objectCount).toBe(7);
      expect(await again.locateFile(3)).toEqual({ moved: 6, stop: null });
      const r = await again.read();
      expect(r.kind === 'data' && r.data.equals(block(6, 103))).toBe(true);
      await again.rewind();
      expect(await readAll(again)).toEqual(['d100', 'F', 'd101', 'd102', 'F', 'F', 'd103']);
    });

    it('drops index entries beyond the data (killed between cutting data and index)', async () => {
      const img = await ctx.create({ chunkSize: 300 });
      await record(img, [100, 101, 'F', 102, 103, 104]);
      await img.close();
      const s = await ctx.store();
      // Chunks: 132 + 133 + 32 | 134 + 135 | 136. Cut the data as a write at object 4 would,
      // leaving index and filemark list long.
      await s.unlink(chunkFileName('TAPE01', 3));
      await s.truncate(chunkFileName('TAPE01', 2), 134);
      const again = await ctx.open();
      expect(again.objectCount).toBe(4);
      expect(again.position().objectNumber).toBe(0);
      expect(await readAll(again)).toEqual(['d100', 'd101', 'F', 'd102']);
      expect(again.position().fileNumber).toBe(1);
    });

    it('reports a corrupt record in the middle on read, naming chunk and offset', async () => {
      const img = await ctx.create();
      await record(img, [100, 100, 100]);
      await img.close();
      const s = await ctx.store();
      const at = 132 + 32 + 10; // a payload byte of object 1
      const byte = await s.read(chunk1, at, 1);
      const bytes = await s.read(chunk1, 0, 1 << 20);
      bytes[at] = byte[0] ^ 0xff;
      await s.truncate(chunk1, 0);
      await s.append(chunk1, bytes);
      const again = await ctx.open();
      expect(again.objectCount).toBe(3);
      expect((await again.read()).kind).toBe('data');
      await expectVtlError(
        again.read(),
        'ERR_IMAGE',
        /TAPE01: chunk TAPE01\.img\.000001 offset 132: CRC32C mismatch/,
      );
      expect(again.position().objectNumber).toBe(1);
      await again.locate(2);
      expect((await again.read()).kind).toBe('data');
    });

    it('refuses to cut synced data that is damaged before its end', async () => {
      const img = await ctx.create();
      await record(img, [100, 100, 100]);
      await img.close();
      const s = await ctx.store();
      await s.unlink(indexFileName('TAPE01'));
      const bytes = await s.read(chunk1, 0, 1 << 20);
      bytes[132] = 0; // magic of object 1
      await s.truncate(chunk1, 0);
      await s.append(chunk1, bytes);
      await expectVtlError(
        ctx.open(),
        'ERR_IMAGE',
        /chunk TAPE01\.img\.000001 offset 132: bad record magic 0x00544c52; this data was synced/,
      );
      expect(await s.size(chunk1)).toBe(3 * 132);
    });
  });
}

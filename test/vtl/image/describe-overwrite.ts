/**
 * Overwriting in place (record format v2, write epochs), run by the backend contract suite for
 * each backend: a rewound tape is written over without cutting its chunk files, the logical end
 * holds across crashes, and images made before epochs (record format v1) still open, read and
 * take overwrites.
 */
import { describe, expect, it } from 'vitest';
import { chunkFileName, type ChunkedTapeImage } from '../../../src/vtl/image/index.js';
import { encodeRecord, RecordOffset } from '../../../src/vtl/image/record.js';
import type { Logger } from '../../../src/util/log.js';
import { block, type ImageContext } from './describe-image-backend.js';

const chunk1 = chunkFileName('TAPE01', 1);

async function writeBlocks(img: ChunkedTapeImage, seed: number, count: number, size = 100): Promise<void> {
  for (let i = 0; i < count; i++) await img.writeBlock(block(seed + i, size));
}

/** Reads to EOD: the seeds of the data blocks (by content), 'F' for filemarks. */
async function seeds(img: ChunkedTapeImage, size = 100): Promise<(number | 'F')[]> {
  const out: (number | 'F')[] = [];
  for (;;) {
    const r = await img.read();
    if (r.kind === 'eod') return out;
    if (r.kind === 'filemark') out.push('F');
    else {
      const seed = Array.from({ length: 256 }, (_, s) => s).find((s) => r.data.equals(block(s, size)));
      out.push(seed ?? -1);
    }
  }
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

export function describeOverwrite(ctx: ImageContext): void {
  describe('overwriting in place', () => {
    it('rewrites chunk files in place; a shorter pass ends the tape, also after a crash', async () => {
      const img = await ctx.create();
      await writeBlocks(img, 0, 20);
      await img.sync();
      await img.rewind();
      await writeBlocks(img, 100, 8);
      await img.sync();
      const s = await ctx.store();
      expect(await s.size(chunk1)).toBe(20 * 132); // not cut: pass 1's tail stays on disk
      expect(img.staleBytes()).toEqual([12 * 132]);
      const cp = JSON.parse((await s.read('checkpoint.json', 0, 4096)).toString()) as Record<string, number>;
      expect(cp).toMatchObject({ formatVersion: 2, objects: 8, epoch: 1 });
      const rec = await s.read(chunk1, 0, 32);
      expect(rec.readUInt32BE(RecordOffset.epoch)).toBe(1);
      await img.abandon();
      const again = await ctx.open();
      expect(await seeds(again)).toEqual(range(100, 8));
      // Pass 3, flushed but never synced, then a crash: pass 3's records and nothing after.
      await again.rewind();
      await writeBlocks(again, 200, 3);
      await again.writeFilemarks(0);
      await again.abandon();
      const third = await ctx.open();
      expect(await seeds(third)).toEqual(range(200, 3));
    });

    it('without its checkpoint (lost, or not copied along) finds the pass where epochs drop', async () => {
      const img = await ctx.create();
      await writeBlocks(img, 0, 20);
      await img.rewind();
      await writeBlocks(img, 100, 8);
      await img.close();
      const s = await ctx.store();
      await s.unlink('checkpoint.json');
      await s.unlink('TAPE01.idx');
      const repairs: unknown[] = [];
      const logger = { warn: (_m: string, f?: Record<string, unknown>) => repairs.push(f?.repair) };
      const again = await ctx.open('TAPE01', { logger: logger as unknown as Logger });
      expect(repairs).toContain('checkpoint.json missing; write epoch 1 taken from the records');
      expect(await seeds(again)).toEqual(range(100, 8));
      await again.close();
      const cp = JSON.parse((await s.read('checkpoint.json', 0, 4096)).toString()) as Record<string, number>;
      expect(cp).toMatchObject({ objects: 8, epoch: 1 });
    });

    it('starts a new epoch before writing over bytes past EOD found on load', async () => {
      // Records of the current epoch past EOD: synced at 5, 6..7 flushed, then record 5 torn.
      const img = await ctx.create();
      await writeBlocks(img, 0, 5);
      await img.sync();
      await writeBlocks(img, 5, 3);
      await img.writeFilemarks(0);
      await img.abandon();
      const s = await ctx.store();
      await s.write!(chunk1, 5 * 132 + 50, Buffer.alloc(10, 0xee));
      const reopened = await ctx.open();
      expect(reopened.objectCount).toBe(5);
      await reopened.spaceToEod();
      await reopened.writeBlock(block(50, 100)); // lands where record 5 was, same size
      await reopened.writeFilemarks(0);
      await reopened.abandon();
      // Records 6 and 7 are valid, numbered 6 and 7 and right behind the new record 5: only
      // their older epoch keeps them out.
      const last = await ctx.open();
      expect(await seeds(last)).toEqual([...range(0, 5), 50]);
    });

    it('erase and a write in the middle cut logically; reads never reach past EOD', async () => {
      const img = await ctx.create({ chunkSize: 700 });
      await writeBlocks(img, 0, 12); // 5 records per chunk: chunks 1..3
      await img.locate(7);
      await img.erase();
      expect(img.objectCount).toBe(7);
      await img.locate(3);
      await writeBlocks(img, 30, 4); // 3..6 again, over the same bytes
      await img.rewind();
      expect(await seeds(img)).toEqual([0, 1, 2, 30, 31, 32, 33]);
      await img.close();
      const again = await ctx.open();
      expect(await seeds(again)).toEqual([0, 1, 2, 30, 31, 32, 33]);
      // Chunk 2 holds EOD at 264 of its 660 bytes; chunk 3 (264 bytes) is wholly past EOD.
      expect(again.staleBytes()).toEqual([660 - 264 + 264]);
    });

    it('opens and reads a version-1 image, and overwrites it without resurrecting its tail', async () => {
      const img = await ctx.create();
      await img.close();
      const s = await ctx.store();
      const v1 = [0, 1, 2, 3, 4].map((n) =>
        encodeRecord({ kind: 'data', objectNumber: n, version: 1 }, block(n, 100)),
      );
      v1.push(encodeRecord({ kind: 'filemark', objectNumber: 5, version: 1 }, Buffer.alloc(0)));
      await s.unlink('TAPE01.idx');
      await s.unlink('TAPE01.fm');
      await s.append(chunk1, v1);
      const cpV1 = { formatVersion: 1, objects: 6, chunk: 1, size: 5 * 132 + 32 };
      await s.writeAtomic('checkpoint.json', Buffer.from(JSON.stringify(cpV1)));
      const repairs: unknown[] = [];
      const logger = { warn: (_m: string, f?: Record<string, unknown>) => repairs.push(f?.repair) };
      const old = await ctx.open('TAPE01', { logger: logger as unknown as Logger });
      expect(repairs).toContain('index TAPE01.idx missing; rebuilding');
      expect(await seeds(old)).toEqual([0, 1, 2, 3, 4, 'F']);
      expect(old.position()).toMatchObject({ fileNumber: 1, eod: true });
      await writeBlocks(old, 6, 1); // at EOD: appends a version-2 record
      await old.locate(2);
      await writeBlocks(old, 20, 1); // overwrite: new epoch, v1 records 3.. are past EOD
      await old.writeFilemarks(0);
      await old.abandon();
      const again = await ctx.open();
      expect(await seeds(again)).toEqual([0, 1, 20]);
      expect((await s.read(chunk1, 2 * 132, 32))[RecordOffset.version]).toBe(2);
      expect((await s.read(chunk1, 1 * 132, 32))[RecordOffset.version]).toBe(1);
    });
  });
}

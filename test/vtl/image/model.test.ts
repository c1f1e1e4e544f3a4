/**
 * Property test: random tape operations against the image and against a naive reference model
 * (an array of objects and a head index), compared after every step (STYLE.md habit 13).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageBackend, ReadResult, SpaceResult } from '../../../src/vtl/image/types.js';
import {
  createCartridge,
  createFileBackend,
  createMemoryBackend,
  FILEMARK_CAPACITY_COST,
  openTapeImage,
  type ChunkedTapeImage,
} from '../../../src/vtl/image/index.js';
import { block } from './describe-image-backend.js';

type Obj = { kind: 'data'; size: number; seed: number } | { kind: 'filemark' };

type Op =
  | { op: 'write'; size: number; seed: number }
  | { op: 'filemarks'; count: number }
  | { op: 'read' }
  | { op: 'rewind' }
  | { op: 'spaceBlocks'; count: number }
  | { op: 'spaceFilemarks'; count: number }
  | { op: 'spaceToEod' }
  | { op: 'locate'; to: number }
  | { op: 'locateFile'; to: number }
  | { op: 'erase' }
  | { op: 'locatePartition'; to: number; partition: number }
  | { op: 'format'; partitions: number }
  | { op: 'reopen'; how: 'close' | 'crash-after-flush' | 'crash-after-sync' };

/** The reference: SSC-4 rules applied one object at a time, per partition. */
class Model {
  parts: Obj[][] = [[]];
  cur = 0;
  pos = 0;

  get objs(): Obj[] {
    return this.parts[this.cur];
  }

  private cut(): void {
    this.objs.length = this.pos;
  }

  apply(o: Op): ReadResult | SpaceResult | null {
    switch (o.op) {
      case 'write':
        this.cut();
        this.objs.push({ kind: 'data', size: o.size, seed: o.seed });
        this.pos++;
        return null;
      case 'filemarks':
        if (o.count === 0) return null;
        this.cut();
        for (let i = 0; i < o.count; i++) this.objs.push({ kind: 'filemark' });
        this.pos += o.count;
        return null;
      case 'read': {
        const obj = this.objs[this.pos];
        if (obj === undefined) return { kind: 'eod' };
        this.pos++;
        return obj.kind === 'filemark'
          ? { kind: 'filemark' }
          : { kind: 'data', data: block(obj.seed, obj.size) };
      }
      case 'rewind':
        this.cur = 0;
        this.pos = 0;
        return null;
      case 'spaceBlocks':
        return o.count >= 0 ? this.blocksForward(o.count) : this.blocksBackward(-o.count);
      case 'spaceFilemarks':
        return o.count >= 0 ? this.filemarksForward(o.count) : this.filemarksBackward(-o.count);
      case 'spaceToEod':
        this.pos = this.objs.length;
        return null;
      case 'locate': {
        const target = Math.min(o.to, this.objs.length);
        const moved = Math.abs(target - this.pos);
        this.pos = target;
        return { moved, stop: o.to > this.objs.length ? 'eod' : null };
      }
      case 'locateFile': {
        let target = o.to === 0 ? 0 : -1;
        for (let i = 0, seen = 0; target < 0 && i < this.objs.length; i++) {
          if (this.objs[i].kind === 'filemark' && ++seen === o.to) target = i + 1;
        }
        const stop = target < 0 ? 'eod' : null;
        if (target < 0) target = this.objs.length;
        const moved = Math.abs(target - this.pos);
        this.pos = target;
        return { moved, stop };
      }
      case 'erase':
        this.cut();
        return null;
      case 'locatePartition': {
        if (o.partition >= this.parts.length) return null; // refused; nothing changes
        const from = o.partition === this.cur ? this.pos : 0;
        this.cur = o.partition;
        const target = Math.min(o.to, this.objs.length);
        this.pos = target;
        return { moved: Math.abs(target - from), stop: o.to > this.objs.length ? 'eod' : null };
      }
      case 'format':
        this.parts = Array.from({ length: o.partitions }, () => []);
        this.cur = 0;
        this.pos = 0;
        return null;
      case 'reopen':
        this.cur = 0;
        this.pos = 0;
        return null;
    }
  }

  private blocksForward(n: number): SpaceResult {
    for (let i = 0; i < n; i++) {
      const obj = this.objs[this.pos];
      if (obj === undefined) return { moved: i, stop: 'eod' };
      this.pos++;
      if (obj.kind === 'filemark') return { moved: i, stop: 'filemark' };
    }
    return { moved: n, stop: null };
  }

  private blocksBackward(n: number): SpaceResult {
    for (let i = 0; i < n; i++) {
      if (this.pos === 0) return { moved: i, stop: 'bop' };
      this.pos--;
      if (this.objs[this.pos].kind === 'filemark') return { moved: i, stop: 'filemark' };
    }
    return { moved: n, stop: null };
  }

  private filemarksForward(n: number): SpaceResult {
    let seen = 0;
    while (seen < n) {
      const obj = this.objs[this.pos];
      if (obj === undefined) return { moved: seen, stop: 'eod' };
      this.pos++;
      if (obj.kind === 'filemark') seen++;
    }
    return { moved: n, stop: null };
  }

  private filemarksBackward(n: number): SpaceResult {
    let seen = 0;
    while (seen < n) {
      if (this.pos === 0) return { moved: seen, stop: 'bop' };
      this.pos--;
      if (this.objs[this.pos].kind === 'filemark') seen++;
    }
    return { moved: n, stop: null };
  }

  get fileNumber(): number {
    return this.objs.slice(0, this.pos).filter((o) => o.kind === 'filemark').length;
  }

  get used(): number {
    return this.objs.reduce((n, o) => n + (o.kind === 'filemark' ? FILEMARK_CAPACITY_COST : o.size), 0);
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3000 })),
      seed: fc.nat(255),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('filemarks' as const), count: fc.integer({ min: 0, max: 3 }) }),
  },
  { weight: 4, arbitrary: fc.constant({ op: 'read' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'rewind' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('spaceBlocks' as const), count: fc.integer({ min: -6, max: 6 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('spaceFilemarks' as const),
      count: fc.integer({ min: -3, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'spaceToEod' as const }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('locate' as const), to: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('locateFile' as const), to: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'erase' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('locatePartition' as const),
      to: fc.nat(20),
      partition: fc.nat(3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('format' as const), partitions: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('reopen' as const),
      how: fc.constantFrom('close' as const, 'crash-after-flush' as const, 'crash-after-sync' as const),
    }),
  },
);

const configArb = fc.record({
  chunkSize: fc.constantFrom(64, 700, 1 << 20),
  readAhead: fc.constantFrom(64, 4096, 1 << 20),
  writeBehind: fc.constantFrom(64, 2048, 1 << 20),
});

async function apply(img: ChunkedTapeImage, o: Op): Promise<ReadResult | SpaceResult | null> {
  switch (o.op) {
    case 'write':
      await img.writeBlock(block(o.seed, o.size));
      return null;
    case 'filemarks':
      await img.writeFilemarks(o.count);
      return null;
    case 'read':
      return img.read();
    case 'rewind':
      await img.rewind();
      return null;
    case 'spaceBlocks':
      return img.spaceBlocks(o.count);
    case 'spaceFilemarks':
      return img.spaceFilemarks(o.count);
    case 'spaceToEod':
      await img.spaceToEod();
      return null;
    case 'locate':
      return img.locate(o.to);
    case 'locateFile':
      return img.locateFile(o.to);
    case 'erase':
      await img.erase();
      return null;
    case 'locatePartition':
      if (o.partition >= img.partitionCount) {
        await expect(img.locate(o.to, o.partition)).rejects.toThrow(/does not exist/);
        return null;
      }
      return img.locate(o.to, o.partition);
    case 'format':
      await img.format(o.partitions === 1 ? null : Array<number>(o.partitions).fill(1e12));
      return null;
    case 'reopen':
      return null;
  }
}

async function runAgainstModel(
  backend: ImageBackend,
  label: string,
  config: { chunkSize: number; readAhead: number; writeBehind: number },
  ops: Op[],
): Promise<void> {
  await createCartridge(backend, { label, mediaType: 'LTO7', chunkSize: config.chunkSize });
  const options = { readAhead: config.readAhead, writeBehind: config.writeBehind };
  let img = await openTapeImage(backend, label, options);
  const model = new Model();
  try {
    for (const [step, o] of ops.entries()) {
      const where = `step ${step} ${JSON.stringify(o)}`;
      if (o.op === 'reopen') {
        if (o.how === 'close') await img.close();
        else {
          if (o.how === 'crash-after-sync') await img.sync();
          else await img.writeFilemarks(0);
          await img.abandon();
        }
        img = await openTapeImage(backend, label, options);
      }
      const got = await apply(img, o);
      const want = model.apply(o);
      expect(got, where).toEqual(want);
      expect(img.position(), where).toMatchObject({
        partition: model.cur,
        objectNumber: model.pos,
        fileNumber: model.fileNumber,
        bop: model.pos === 0,
        eod: model.pos === model.objs.length,
      });
      expect(img.objectCount, where).toBe(model.objs.length);
      expect(img.bytesUsed, where).toBe(model.used);
    }
    // Finally every partition must read back from BOP, after a clean reopen.
    await img.close();
    img = await openTapeImage(backend, label, options);
    expect(img.partitionCount).toBe(model.parts.length);
    for (let p = 0; p < model.parts.length; p++) {
      await img.locate(0, p);
      model.apply({ op: 'locatePartition', to: 0, partition: p });
      for (let i = 0; i <= model.objs.length; i++)
        expect(await img.read(), `partition ${p} object ${i}`).toEqual(model.apply({ op: 'read' }));
    }
  } finally {
    await img.close().catch(() => undefined);
  }
}

describe('tape image against a reference model', () => {
  it('memory backend', async () => {
    const backend = createMemoryBackend();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 60 }), (config, ops) =>
        runAgainstModel(backend, `M${n++}`, config, ops),
      ),
      { numRuns: 300 },
    );
  });

  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('file backend', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vtl-model-'));
    roots.push(root);
    const backend = createFileBackend(root);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 40 }), (config, ops) =>
        runAgainstModel(backend, `F${n++}`, config, ops),
      ),
      { numRuns: 40 },
    );
  });
});

describe('crash recovery against a reference model', () => {
  const itemArb = fc.oneof(
    { weight: 5, arbitrary: fc.record({ size: fc.integer({ min: 0, max: 600 }), seed: fc.nat(255) }) },
    { weight: 1, arbitrary: fc.constant('F' as const) },
  );

  it('keeps the synced prefix and a whole-record prefix of the rest after a torn tail', async () => {
    const backend = createMemoryBackend();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(64, 500, 4096),
        fc.array(itemArb, { maxLength: 30 }),
        fc.array(itemArb, { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.uint8Array({ maxLength: 100 }),
        async (chunkSize, synced, unsynced, cutAt, garbage) => {
          const label = `C${n++}`;
          await createCartridge(backend, { label, mediaType: 'LTO6', chunkSize });
          const img = await openTapeImage(backend, label, { writeBehind: 256 });
          const write = async (items: typeof synced): Promise<void> => {
            for (const it of items) {
              if (it === 'F') await img.writeFilemarks(1);
              else await img.writeBlock(block(it.seed, it.size));
            }
          };
          await write(synced);
          await img.sync();
          await write(unsynced);
          await img.writeFilemarks(0);
          await img.abandon();

          const store = await backend.open(label, { create: false });
          const cp = JSON.parse((await store.read('checkpoint.json', 0, 4096)).toString()) as {
            chunk: number;
            size: number;
          };
          const chunks = (await store.files()).filter((f) => f.includes('.img.')).sort();
          const last = chunks[chunks.length - 1];
          const lastNumber = Number(last.slice(last.lastIndexOf('.') + 1));
          const size = await store.size(last);
          const floor = lastNumber === cp.chunk ? cp.size : 0;
          await store.truncate(last, floor + Math.floor(cutAt * (size - floor)));
          if (garbage.length > 0) await store.append(last, Buffer.from(garbage));
          await store.close();

          const all = [...synced, ...unsynced];
          const again = await openTapeImage(backend, label);
          try {
            expect(again.objectCount).toBeGreaterThanOrEqual(synced.length);
            expect(again.objectCount).toBeLessThanOrEqual(all.length);
            for (const it of all.slice(0, again.objectCount)) {
              const r = await again.read();
              expect(r).toEqual(
                it === 'F' ? { kind: 'filemark' } : { kind: 'data', data: block(it.seed, it.size) },
              );
            }
            expect(await again.read()).toEqual({ kind: 'eod' });
            expect(again.position().fileNumber).toBe(
              all.slice(0, again.objectCount).filter((i) => i === 'F').length,
            );
          } finally {
            await again.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

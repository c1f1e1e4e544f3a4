/**
 * Property test for overwriting in place: a first pass is synced, the head is moved back and a
 * second pass written over it (partly synced), the process crashes and one record of the second
 * pass past its sync is torn. The reopened tape must be exactly the second pass's tape up to the
 * torn record: never shorter than the sync, never a record of the first pass past the cut.
 * Run on the memory backend with and without in-place writes (a store without `write` makes the
 * image cut files instead).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CartridgeStore, ImageBackend } from '../../../src/vtl/image/types.js';
import {
  createCartridge,
  createMemoryBackend,
  indexFileName,
  openTapeImage,
} from '../../../src/vtl/image/index.js';
import { block } from './blocks.js';

/** A backend whose stores cannot write in place (CartridgeStore.write is optional). */
function withoutWrite(backend: ImageBackend): ImageBackend {
  const strip = (store: CartridgeStore): CartridgeStore =>
    new Proxy(store, {
      get(target, key) {
        if (key === 'write') return undefined;
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return {
    open: async (label, options) => strip(await backend.open(label, options)),
    list: () => backend.list(),
    remove: (label) => backend.remove(label),
    exists: (label) => backend.exists(label),
  };
}

type Item = { size: number; seed: number } | 'F';
const itemArb: fc.Arbitrary<Item> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ size: fc.integer({ min: 0, max: 400 }), seed: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.constant('F' as const) },
);

const expected = (it: Item): unknown =>
  it === 'F' ? { kind: 'filemark' } : { kind: 'data', data: block(it.seed, it.size) };

for (const inPlace of [true, false]) {
  describe(`overwrite then crash against a reference (${inPlace ? 'in place' : 'cutting files'})`, () => {
    it('keeps the synced second pass, cuts at the torn record, never shows the first pass past it', async () => {
      const memory = createMemoryBackend();
      const backend = inPlace ? memory : withoutWrite(memory);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(64, 500, 4096),
          fc.array(itemArb, { minLength: 1, maxLength: 30 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.array(itemArb, { maxLength: 15 }),
          fc.array(itemArb, { minLength: 1, maxLength: 15 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.boolean(),
          async (chunkSize, pass1, at, synced2, unsynced2, tornAt, reopenBetween) => {
            const label = `W${n++}`;
            await createCartridge(backend, { label, mediaType: 'LTO6', chunkSize });
            let img = await openTapeImage(backend, label, { writeBehind: 256 });
            const write = async (items: Item[]): Promise<void> => {
              for (const i of items) {
                if (i === 'F') await img.writeFilemarks(1);
                else await img.writeBlock(block(i.seed, i.size));
              }
            };
            await write(pass1);
            await img.sync();
            if (reopenBetween) {
              await img.close();
              img = await openTapeImage(backend, label, { writeBehind: 256 });
            }
            const k = Math.min(Math.floor(at * (pass1.length + 1)), pass1.length);
            await img.locate(k);
            await write(synced2);
            await img.sync();
            await write(unsynced2);
            await img.writeFilemarks(0);
            await img.abandon();

            const tape = [...pass1.slice(0, k), ...synced2, ...unsynced2];
            const syncedCount = k + synced2.length;
            // Tear one record of the unsynced part: a few of its bytes are not what was written.
            const j = syncedCount + Math.min(Math.floor(tornAt * unsynced2.length), unsynced2.length - 1);
            const store = await memory.open(label, { create: false });
            const e = await store.read(indexFileName(label), 16 + j * 32, 32);
            const chunk = `${label}.img.${String(e.readUInt32BE(0)).padStart(6, '0')}`;
            const offset = e.readUInt32BE(4);
            const length = 32 + e.readUInt32BE(8);
            const where = offset + (Math.floor(tornAt * length) % length);
            const old = await store.read(chunk, where, 1);
            await store.write!(chunk, where, Buffer.from([old[0] ^ 0x5a]));
            await store.close();

            const again = await openTapeImage(backend, label);
            try {
              expect(again.objectCount).toBe(j);
              for (const item of tape.slice(0, j)) expect(await again.read()).toEqual(expected(item));
              expect(await again.read()).toEqual({ kind: 'eod' });
            } finally {
              await again.close();
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
}

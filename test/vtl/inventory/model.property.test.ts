/**
 * Random sequences of moves, operator actions and restarts against a reference model (a map from
 * barcode to place): every operation the model accepts succeeds, every one it refuses fails and
 * changes nothing, and after each step no cartridge is lost or duplicated and every drive holds
 * exactly what the inventory says.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryBackend } from '../../../src/vtl/image/index.js';
import { createMemoryInventoryStore, elementKey } from '../../../src/vtl/inventory/index.js';
import type { ElementRef, ElementType, Location } from '../../../src/vtl/inventory/index.js';
import { Library } from '../smc/harness.js';

const SLOTS = 4;
const MAILSLOTS = 2;
const DRIVES = 2;
const BARCODES = ['A00001L8', 'A00002L8', 'A00003L8', 'CLN001L1', 'A00004L7'];

const ref = fc
  .record({
    type: fc.constantFrom<ElementType>('slot', 'mailslot', 'drive', 'transport'),
    index: fc.nat({ max: 4 }),
  })
  .map((r): ElementRef => r);

type Op =
  | { kind: 'move'; from: ElementRef; to: ElementRef }
  | { kind: 'create'; barcode: string; vault: boolean }
  | { kind: 'insert'; barcode: string }
  | { kind: 'remove'; barcode: string }
  | { kind: 'delete'; barcode: string }
  | { kind: 'restart' };

const barcode = fc.constantFrom(...BARCODES);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('move' as const), from: ref, to: ref }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('create' as const), barcode, vault: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), barcode }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), barcode }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), barcode }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

const COUNTS: Record<ElementType, number> = { slot: SLOTS, mailslot: MAILSLOTS, drive: DRIVES, transport: 1 };
const valid = (r: ElementRef): boolean => r.index < COUNTS[r.type];

class Model {
  readonly places = new Map<string, Location>();
  occupant(r: ElementRef): string | undefined {
    for (const [b, l] of this.places) if (l.type !== 'vault' && elementKey(l) === elementKey(r)) return b;
    return undefined;
  }
  free(type: ElementType): ElementRef[] {
    const out: ElementRef[] = [];
    for (let index = 0; index < COUNTS[type]; index++)
      if (!this.occupant({ type, index })) out.push({ type, index });
    return out;
  }
  /** Applies `o` when it should succeed; returns false when it must be refused. */
  apply(o: Op): boolean {
    switch (o.kind) {
      case 'move': {
        if (!valid(o.from) || !valid(o.to)) return false;
        const b = this.occupant(o.from);
        if (!b || this.occupant(o.to)) return false;
        this.places.set(b, o.to);
        return true;
      }
      case 'create': {
        if (this.places.has(o.barcode)) return false;
        if (o.vault) this.places.set(o.barcode, { type: 'vault' });
        else {
          const f = this.free('slot');
          if (f.length === 0) return false;
          this.places.set(o.barcode, f[0]);
        }
        return true;
      }
      case 'insert': {
        const f = this.free('mailslot');
        if (this.places.get(o.barcode)?.type !== 'vault' || f.length === 0) return false;
        this.places.set(o.barcode, f[0]);
        return true;
      }
      case 'remove':
        if (this.places.get(o.barcode)?.type !== 'mailslot') return false;
        this.places.set(o.barcode, { type: 'vault' });
        return true;
      case 'delete': {
        const t = this.places.get(o.barcode)?.type;
        if (t !== 'vault' && t !== 'slot') return false;
        this.places.delete(o.barcode);
        return true;
      }
      case 'restart':
        return true;
    }
  }
}

describe('inventory against a reference model', () => {
  it('never loses or duplicates a cartridge', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const backend = createMemoryBackend();
        const store = createMemoryInventoryStore();
        const open = (): Promise<Library> =>
          Library.create({ backend, store, slots: SLOTS, mailslots: MAILSLOTS, drives: DRIVES });
        let lib = await open();
        const model = new Model();
        try {
          for (const o of ops) {
            const expected = model.apply(o);
            let ok = true;
            try {
              switch (o.kind) {
                case 'move':
                  await lib.inventory.move(o.from, o.to);
                  break;
                case 'create':
                  await lib.inventory.createCartridges(o.barcode, { to: o.vault ? 'vault' : 'slots' });
                  break;
                case 'insert':
                  await lib.inventory.insertIntoMailslot(o.barcode);
                  break;
                case 'remove':
                  await lib.inventory.removeFromMailslot(o.barcode);
                  break;
                case 'delete':
                  await lib.inventory.deleteCartridge(o.barcode);
                  break;
                case 'restart':
                  // A crash: the old drives are abandoned, new ones come up empty.
                  lib = await open();
                  break;
              }
            } catch {
              ok = false;
            }
            expect(ok, JSON.stringify(o)).toBe(expected);
            const actual = new Map(lib.inventory.list().map((r) => [r.barcode, r.location]));
            expect(actual).toEqual(model.places);
            for (let i = 0; i < DRIVES; i++) {
              expect(lib.drives[i].drive.cartridgeInDrive?.label ?? null).toBe(
                model.occupant({ type: 'drive', index: i }) ?? null,
              );
            }
          }
        } finally {
          await lib.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

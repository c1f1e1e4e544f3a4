/**
 * The inventory model: operator actions and their refusals, events, persistence in
 * inventory.json, and recovery after a crash at every step of a move (the process abandoned
 * mid-move, then the library reopened from what is on disk, with fresh drives).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCartridge } from '../../../src/vtl/image/index.js';
import { Inventory, createMemoryInventoryStore, decodeInventory } from '../../../src/vtl/inventory/index.js';
import type { ElementRef, MoveStep } from '../../../src/vtl/inventory/index.js';
import { createTapeDrive } from '../../../src/vtl/ssc/index.js';
import { ADDR, Library, cdb, fileLibraryParts, tape, tempDir } from '../smc/harness.js';

const slot = (index: number): ElementRef => ({ type: 'slot', index });
const drive = (index: number): ElementRef => ({ type: 'drive', index });

/** Every barcode in exactly one place, and every drive holding what the inventory says. */
function checkInvariants(lib: Library): void {
  const inv = lib.inventory;
  const seen = new Map<string, number>();
  for (const e of inv.elements())
    if (e.cartridge) seen.set(e.cartridge.barcode, (seen.get(e.cartridge.barcode) ?? 0) + 1);
  for (const rec of inv.list()) {
    if (rec.location.type === 'vault') expect(seen.has(rec.barcode)).toBe(false);
    else expect(seen.get(rec.barcode), rec.barcode).toBe(1);
  }
  for (const [i, d] of lib.drives.entries()) {
    expect(d.drive.cartridgeInDrive?.label ?? null).toBe(inv.occupantOf(drive(i))?.barcode ?? null);
  }
}

describe('operator actions', () => {
  let lib: Library;
  beforeEach(async () => {
    lib = await Library.create({ slots: 4, mailslots: 2, drives: 1 });
  });
  afterEach(() => lib.close());

  it('creates cartridges in free slots or the vault, all or nothing', async () => {
    const created: string[] = [];
    lib.inventory.on('created', (e) => created.push(e.barcode));
    await lib.inventory.createCartridges('E01001L8..E01002L8');
    expect(created).toEqual(['E01001L8', 'E01002L8']);
    await expect(lib.inventory.createCartridges('E01003L8..E01005L8')).rejects.toThrow(
      /3 cartridges need as many free slots; 2 are free/,
    );
    expect(await lib.backend.exists('E01003L8')).toBe(false);
    await expect(lib.inventory.createCartridges(['E01002L8'])).rejects.toMatchObject({
      code: 'ERR_IMAGE_EXISTS',
    });
    await lib.inventory.createCartridges('E01003L8..E01005L8', { to: 'vault' });
    expect(lib.inventory.cartridge('E01004L8')?.location).toEqual({ type: 'vault' });
    const cleaner = await lib.inventory.createCartridges('CLN001L1');
    expect(cleaner[0]).toMatchObject({ mediaType: 'CLEANING', cleaningUsesLeft: 50, location: slot(2) });
  });

  it('adopts an image that exists without an inventory record', async () => {
    await createCartridge(lib.backend, { label: 'E09999L8', mediaType: 'LTO8', chunkSize: 4096 });
    await lib.inventory.createCartridges('E09999L8');
    expect(lib.inventory.cartridge('E09999L8')?.location).toEqual(slot(0));
  });

  it('inserts into and removes from mailslots, with the refusals an operator needs', async () => {
    await lib.inventory.createCartridges(['E01001L8']);
    await lib.inventory.createCartridges(['E01002L8', 'E01003L8', 'E01004L8'], { to: 'vault' });
    const moves: string[] = [];
    lib.inventory.on('moved', (e) => moves.push(`${e.barcode}:${e.to.type}:${e.by}`));
    await expect(lib.inventory.insertIntoMailslot('E01001L8')).rejects.toThrow(
      /is in slot 1, not in the vault/,
    );
    await expect(lib.inventory.insertIntoMailslot('E09999L8')).rejects.toMatchObject({
      code: 'ERR_IMAGE_NOT_FOUND',
    });
    await lib.inventory.insertIntoMailslot('E01002L8', { mailslot: 1 });
    await lib.inventory.insertIntoMailslot('E01003L8');
    expect(lib.inventory.cartridge('E01003L8')?.location).toEqual({ type: 'mailslot', index: 0 });
    await expect(lib.inventory.insertIntoMailslot('E01004L8')).rejects.toThrow(/every mailslot is full/);
    await expect(lib.inventory.insertIntoMailslot('E01004L8', { mailslot: 5 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    const out = await lib.inventory.removeFromMailslot({ mailslot: 1 });
    expect(out).toMatchObject({ barcode: 'E01002L8', location: { type: 'vault' } });
    await expect(lib.inventory.removeFromMailslot('E01001L8')).rejects.toThrow(/not in a mailslot/);
    await expect(lib.inventory.removeFromMailslot({ mailslot: 1 })).rejects.toThrow(/mailslot 2 is empty/);
    expect(moves).toEqual([
      'E01002L8:mailslot:operator',
      'E01003L8:mailslot:operator',
      'E01002L8:vault:operator',
    ]);
  });

  it('deletes only from a slot or the vault, image included unless kept', async () => {
    await lib.inventory.createCartridges(['E01001L8', 'E01002L8', 'E01003L8']);
    await lib.inventory.move(slot(0), drive(0));
    await lib.inventory.move(slot(1), { type: 'mailslot', index: 0 });
    await expect(lib.inventory.deleteCartridge('E01001L8')).rejects.toThrow(
      /drive 1; only cartridges in a slot or the vault/,
    );
    await expect(lib.inventory.deleteCartridge('E01002L8')).rejects.toThrow(/mailslot 1/);
    await lib.inventory.deleteCartridge('E01003L8');
    expect(lib.inventory.cartridge('E01003L8')).toBeUndefined();
    expect(await lib.backend.exists('E01003L8')).toBe(false);
    await lib.inventory.move({ type: 'mailslot', index: 0 }, slot(3));
    await lib.inventory.deleteCartridge('E01002L8', { keepImage: true });
    expect(await lib.backend.exists('E01002L8')).toBe(true);
  });
});

describe('persistence', () => {
  it('writes inventory.json atomically and reopens every location', async () => {
    const dir = await tempDir();
    try {
      const a = await Library.create({ ...fileLibraryParts(dir.path), slots: 4, mailslots: 1, drives: 2 });
      await a.inventory.createCartridges(['E01001L8..E01003L8', 'CLN001L1']);
      await a.inventory.createCartridges('E01009L8', { to: 'vault' });
      await a.inventory.insertIntoMailslot('E01009L8');
      await a.inventory.move(slot(1), drive(1));
      await a.inventory.move(slot(3), drive(0));
      await a.inventory.move(drive(0), slot(3));
      const before = a.inventory.list();
      await a.close();
      const json = decodeInventory(
        await readFile(join(dir.path, 'inventory.json'), 'utf8'),
        'inventory.json',
      );
      expect(json).toMatchObject({ formatVersion: 1 });
      expect(json.cartridges.find((c) => c.barcode === 'CLN001L1')?.cleaningUsesLeft).toBe(49);
      // A crash during a save leaves a temporary file beside the old inventory: it is ignored.
      await writeFile(join(dir.path, 'inventory.json.tmp-99999'), '{"garbage');
      const b = await Library.create({ ...fileLibraryParts(dir.path), slots: 4, mailslots: 1, drives: 2 });
      expect(b.inventory.list()).toEqual(before);
      expect(b.drives[1].drive.cartridgeInDrive?.label).toBe('E01002L8');
      expect(b.drives[0].drive.state).toBe('empty');
      checkInvariants(b);
      await b.close();
    } finally {
      await dir.cleanup();
    }
  });

  it('refuses a damaged inventory.json naming the file', async () => {
    const dir = await tempDir();
    try {
      await writeFile(
        join(dir.path, 'inventory.json'),
        '{"formatVersion":1,"generation":3,"cartridges":[{"barcode":"E01001L8"}]}',
      );
      await expect(Library.create({ ...fileLibraryParts(dir.path) })).rejects.toThrow(
        /inventory\.json: cartridges\[0\]\.mediaType/,
      );
    } finally {
      await dir.cleanup();
    }
  });

  it('moves cartridges whose element no longer exists to the vault', async () => {
    const store = createMemoryInventoryStore();
    const a = await Library.create({ store, slots: 8, mailslots: 2, drives: 2 });
    await a.inventory.createCartridges(['E01001L8..E01003L8']);
    await a.inventory.move(slot(2), slot(7));
    await a.inventory.move(slot(1), drive(1));
    await a.close();
    const b = await Library.create({ store, backend: a.backend, slots: 4, mailslots: 0, drives: 1 });
    expect(b.inventory.cartridge('E01003L8')?.location).toEqual({ type: 'vault' });
    expect(b.inventory.cartridge('E01002L8')?.location).toEqual({ type: 'vault' });
    expect(b.inventory.cartridge('E01001L8')?.location).toEqual(slot(0));
    await b.close();
  });

  it('refuses to open over a drive that holds a cartridge the inventory does not place there', async () => {
    const unit = createTapeDrive({ serial: 'X1' });
    const lib = await Library.create({ drives: 0 });
    await createCartridge(lib.backend, { label: 'E01001L8', mediaType: 'LTO8' });
    const { openTapeImage } = await import('../../../src/vtl/image/index.js');
    await unit.drive.load(await openTapeImage(lib.backend, 'E01001L8'));
    await expect(
      Inventory.open({
        slots: 2,
        mailslots: 0,
        drives: [{ serial: 'X1', vendor: 'IBM', product: 'ULT3580-TD8', drive: unit.drive }],
        backend: lib.backend,
        store: createMemoryInventoryStore(),
      }),
    ).rejects.toThrow(/drive 1 holds E01001L8, but the inventory records no cartridge there/);
    await unit.lu.close();
  });
});

class Crash extends Error {}

describe('crash recovery at every step of a move', () => {
  const cases: { name: string; from: ElementRef; to: ElementRef; steps: MoveStep[] }[] = [
    { name: 'slot → drive', from: slot(0), to: drive(0), steps: ['persisted', 'loaded'] },
    { name: 'drive → slot', from: drive(0), to: slot(2), steps: ['unloaded', 'persisted'] },
    { name: 'drive → drive', from: drive(0), to: drive(1), steps: ['unloaded', 'persisted', 'loaded'] },
  ];
  for (const c of cases) {
    for (const step of c.steps) {
      it(`${c.name}, crash after '${step}'`, async () => {
        const dir = await tempDir();
        try {
          let armed = false;
          const faults = (s: MoveStep): void => {
            if (armed && s === step) throw new Crash(step);
          };
          const a = await Library.create({
            ...fileLibraryParts(dir.path),
            slots: 4,
            mailslots: 1,
            drives: 2,
            faults,
          });
          await a.inventory.createCartridges(['E01001L8', 'E01002L8']);
          await a.settle();
          const block = Buffer.alloc(4096, 0x5c);
          // Data written and synced (WRITE FILEMARKS) before the move.
          await a.exec(cdb.moveMedium(0, ADDR.slot, ADDR.drive));
          expect((await a.drive(0, tape.write6(block.length), { dataOut: block })).status).toBe(0);
          expect((await a.drive(0, tape.writeFilemarks(1))).status).toBe(0);
          if (c.from.type === 'slot') await a.inventory.move(drive(0), slot(0));
          armed = true;
          await expect(a.inventory.move(c.from, c.to)).rejects.toBeInstanceOf(Crash);
          // The process is gone: nothing of `a` is closed or flushed. Restart from disk.
          const b = await Library.create({
            ...fileLibraryParts(dir.path),
            slots: 4,
            mailslots: 1,
            drives: 2,
          });
          try {
            checkInvariants(b);
            expect(b.inventory.list().map((r) => r.barcode)).toEqual(['E01001L8', 'E01002L8']);
            const where = b.inventory.cartridge('E01001L8')!.location;
            const done = step !== 'unloaded';
            expect(where).toEqual(done ? c.to : c.from);
            // The data is there: bring the cartridge to drive 1 and read it.
            if (where.type === 'slot') await b.inventory.move(where, drive(1));
            else if (where.type === 'drive' && where.index !== 1) await b.inventory.move(where, drive(1));
            const r = await b.drive(1, tape.read6(block.length), { expectedLength: block.length });
            expect(r.status).toBe(0);
            expect(r.data.equals(block)).toBe(true);
            checkInvariants(b);
          } finally {
            await b.close();
          }
        } finally {
          await dir.cleanup();
        }
      });
    }
  }
});

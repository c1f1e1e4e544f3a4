/**
 * Operator actions (issue 3 'The library model'): create cartridges, put one from the vault into
 * a mailslot, take one out of a mailslot into the vault, delete one. What a person at a real
 * library does through its door and its panel; the `vtl` command and the HTTP API call these.
 *
 * Mailslot actions are refused while an initiator holds PREVENT ALLOW MEDIUM REMOVAL on the
 * changer (SMC-3: removal through the import/export element is prevented), and raise IMPORT OR
 * EXPORT ELEMENT ACCESSED (28/01) for every I_T nexus of the changer; changes to storage slots
 * raise NOT READY TO READY CHANGE (28/00), as closing a real library's door does.
 */
import { VtlError } from '../../util/errors.js';
import { createCartridge } from '../image/cartridge.js';
import { expandBarcodes, mediaTypeFromBarcode } from './barcode.js';
import { describeElement } from './elements.js';
import type { ElementRef } from './elements.js';
import type { Inventory } from './inventory.js';
import { withoutPlace } from './types.js';
import type { CartridgeRecord, Location } from './types.js';

interface InventoryInternals {
  exclusive<T>(fn: () => T | Promise<T>): Promise<T>;
  apply(changes: readonly { barcode: string; next: CartridgeRecord | null }[]): Promise<void>;
}

export interface CreateCartridgesOptions {
  /** Free storage slots in ascending order (default), or the vault. */
  to?: 'slots' | 'vault';
  /** Capacity in bytes of each new data cartridge (the media type's native capacity otherwise). */
  capacity?: number;
}

const VAULT: Location = { type: 'vault' };

export class OperatorActions {
  constructor(
    private readonly inv: Inventory,
    private readonly internals: InventoryInternals,
  ) {}

  /**
   * Creates cartridges from barcodes and ranges ('E01001L8..E01020L8'). An image that already
   * exists in the backend but is not in the inventory (left by a crash, or made elsewhere) is
   * adopted rather than overwritten. All or nothing: refused when a barcode is already in the
   * inventory or there are not enough free slots.
   */
  createCartridges(
    specs: string | readonly string[],
    options: CreateCartridgesOptions = {},
  ): Promise<CartridgeRecord[]> {
    return this.internals.exclusive(async () => {
      const inv = this.inv;
      const barcodes = expandBarcodes(specs);
      for (const b of barcodes) {
        const rec = inv.cartridge(b);
        if (rec)
          throw new VtlError(
            'ERR_IMAGE_EXISTS',
            `cartridge ${b} is already in the inventory (${where(rec.location)})`,
          );
      }
      const toSlots = (options.to ?? 'slots') === 'slots';
      const free = toSlots ? this.free('slot') : [];
      if (toSlots && free.length < barcodes.length) {
        throw new VtlError(
          'ERR_STATE',
          `${barcodes.length} cartridges need as many free slots; ${free.length} are free (create them in the vault instead)`,
        );
      }
      const records: CartridgeRecord[] = [];
      for (const [i, barcode] of barcodes.entries()) {
        const mediaType = mediaTypeFromBarcode(barcode);
        if (!(await inv.backend.exists(barcode))) {
          await createCartridge(inv.backend, {
            label: barcode,
            mediaType,
            ...(inv.chunkSize !== undefined ? { chunkSize: inv.chunkSize } : {}),
            ...(options.capacity !== undefined && mediaType !== 'CLEANING'
              ? { capacity: options.capacity }
              : {}),
          });
        }
        records.push({
          barcode,
          mediaType,
          location: toSlots ? free[i] : VAULT,
          ...(mediaType === 'CLEANING' ? { cleaningUsesLeft: inv.cleaningUses } : {}),
        });
      }
      await this.internals.apply(records.map((r) => ({ barcode: r.barcode, next: r })));
      for (const r of records) inv.emit('created', { barcode: r.barcode, location: r.location });
      inv.logger.info('cartridges created', { count: records.length, to: toSlots ? 'slots' : 'vault' });
      if (toSlots && records.length > 0) inv.emit('attention', 'medium-changed');
      return records;
    });
  }

  /** Puts a cartridge from the vault into a mailslot (the first free one unless `mailslot`, 0-based). */
  insertIntoMailslot(barcode: string, options: { mailslot?: number } = {}): Promise<CartridgeRecord> {
    return this.internals.exclusive(async () => {
      const inv = this.inv;
      this.requireUnlocked();
      const rec = this.require(barcode);
      if (rec.location.type !== 'vault')
        throw new VtlError(
          'ERR_STATE',
          `cartridge ${barcode} is in ${where(rec.location)}, not in the vault`,
        );
      let target: ElementRef;
      if (options.mailslot !== undefined) {
        target = { type: 'mailslot', index: options.mailslot };
        if (!inv.layout.contains(target))
          throw new VtlError('ERR_INVALID_ARGUMENT', `the library has no ${describeElement(target)}`);
        const there = inv.occupantOf(target);
        if (there) throw new VtlError('ERR_STATE', `${describeElement(target)} holds ${there.barcode}`);
      } else {
        const free = this.free('mailslot');
        if (free.length === 0) throw new VtlError('ERR_STATE', 'every mailslot is full');
        target = free[0];
      }
      const next: CartridgeRecord = { ...withoutPlace(rec, target), imported: true };
      await this.internals.apply([{ barcode, next }]);
      inv.emit('moved', { barcode, from: rec.location, to: target, by: 'operator' });
      inv.emit('attention', 'import-export');
      return next;
    });
  }

  /** Takes a cartridge (by barcode, or the one in mailslot `n`, 0-based) out of its mailslot into the vault. */
  removeFromMailslot(which: string | { mailslot: number }): Promise<CartridgeRecord> {
    return this.internals.exclusive(async () => {
      const inv = this.inv;
      this.requireUnlocked();
      let rec: CartridgeRecord;
      if (typeof which === 'string') {
        rec = this.require(which);
        if (rec.location.type !== 'mailslot')
          throw new VtlError(
            'ERR_STATE',
            `cartridge ${which} is in ${where(rec.location)}, not in a mailslot`,
          );
      } else {
        const ref: ElementRef = { type: 'mailslot', index: which.mailslot };
        if (!inv.layout.contains(ref))
          throw new VtlError('ERR_INVALID_ARGUMENT', `the library has no ${describeElement(ref)}`);
        const there = inv.occupantOf(ref);
        if (!there) throw new VtlError('ERR_STATE', `${describeElement(ref)} is empty`);
        rec = there;
      }
      const next: CartridgeRecord = { ...withoutPlace(rec, VAULT), home: undefined };
      await this.internals.apply([{ barcode: rec.barcode, next }]);
      inv.emit('moved', { barcode: rec.barcode, from: rec.location, to: VAULT, by: 'operator' });
      inv.emit('attention', 'import-export');
      return next;
    });
  }

  /**
   * Deletes a cartridge from the inventory and its image from the backend. Only from the vault
   * or a storage slot: never out of a drive or a mailslot. The record goes first, then the
   * image: a crash in between leaves an orphan image, which createCartridges adopts.
   */
  deleteCartridge(barcode: string, options: { keepImage?: boolean } = {}): Promise<void> {
    return this.internals.exclusive(async () => {
      const inv = this.inv;
      const rec = this.require(barcode);
      const from = rec.location;
      if (from.type !== 'vault' && from.type !== 'slot')
        throw new VtlError(
          'ERR_STATE',
          `cartridge ${barcode} is in ${where(from)}; only cartridges in a slot or the vault can be deleted`,
        );
      await this.internals.apply([{ barcode, next: null }]);
      if (!options.keepImage && (await inv.backend.exists(barcode))) await inv.backend.remove(barcode);
      inv.emit('deleted', { barcode, from });
      if (from.type === 'slot') inv.emit('attention', 'medium-changed');
    });
  }

  private require(barcode: string): CartridgeRecord {
    const rec = this.inv.cartridge(barcode);
    if (!rec) throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${barcode} in the inventory`);
    return rec;
  }

  private requireUnlocked(): void {
    if (this.inv.mailslotsLocked) {
      throw new VtlError(
        'ERR_STATE',
        'the mailslots are locked: an initiator prevents medium removal (PREVENT ALLOW MEDIUM REMOVAL)',
      );
    }
  }

  private free(type: 'slot' | 'mailslot'): ElementRef[] {
    const out: ElementRef[] = [];
    for (let index = 0; index < this.inv.layout.count(type); index++) {
      if (!this.inv.occupantOf({ type, index })) out.push({ type, index });
    }
    return out;
  }
}

function where(location: Location): string {
  return location.type === 'vault' ? 'the vault' : describeElement(location);
}

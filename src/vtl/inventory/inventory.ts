/**
 * The library's inventory: which cartridge is in which element (or in the vault), kept so that a
 * cartridge is in exactly one place at any moment and every change is persisted before it is
 * reported done (DESIGN.md; issue 3 'The library model').
 *
 * Order of a move, so that a crash (even kill -9) at any point neither loses nor duplicates a
 * cartridge — the persisted location is the truth, the drive follows it:
 *
 *   out of a drive:  unload the drive (data synced)  →  persist the new location
 *   into a drive:    persist the new location        →  open the image and load it
 *
 * A crash after the unload but before the save leaves the cartridge recorded in the drive; a
 * crash after the save but before the load leaves it recorded in the destination drive. Either
 * way `Inventory.open` reconciles by loading every cartridge recorded in a drive into that drive.
 * The initiator never saw the MOVE complete, so it retries or re-reads the element status.
 *
 * Every operation runs alone (`exclusive`): SCSI moves and operator actions never interleave.
 */
import { EventEmitter } from 'node:events';
import { VtlError } from '../../util/errors.js';
import type { VtlErrorCode } from '../../util/errors.js';
import { silentLogger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { openTapeImage } from '../image/cartridge.js';
import type { ImageBackend } from '../image/types.js';
import { DEFAULT_CLEANING_USES, validateBarcode } from './barcode.js';
import { ElementLayout, describeElement, elementKey, sameElement } from './elements.js';
import type { ElementAddressScheme, ElementRef } from './elements.js';
import { INVENTORY_FORMAT_VERSION } from './store.js';
import type { InventoryStore } from './store.js';
import { withoutPlace } from './types.js';
import type { CartridgeRecord, DriveSlot, InventoryEvents, MoveStep } from './types.js';
import { OperatorActions } from './operator.js';
import type { CreateCartridgesOptions } from './operator.js';

/** TapeAlert flags a cleaning touches (TapeAlert specification, tape drive flags). */
export const TAPE_ALERT = {
  CLEAN_NOW: 20,
  CLEAN_PERIODIC: 21,
  EXPIRED_CLEANING_MEDIA: 22,
} as const;

export type MoveFailure =
  'invalid-element' | 'source-empty' | 'destination-full' | 'removal-prevented' | 'load-failed';

/** A refused or failed move; `field` says which element of the request is at fault. */
export class MoveError extends VtlError {
  constructor(
    readonly reason: MoveFailure,
    readonly field: 'transport' | 'source' | 'destination' | 'second-destination',
    message: string,
    options?: { cause?: unknown },
  ) {
    const code: VtlErrorCode = reason === 'invalid-element' ? 'ERR_INVALID_ARGUMENT' : 'ERR_STATE';
    super(code, message, options);
    this.name = 'MoveError';
  }
}

export interface InventoryOptions {
  /** Storage slots (at least 1). */
  slots: number;
  /** Import/export elements (mailslots). */
  mailslots: number;
  /** The drives, in data transfer element order. */
  drives: readonly DriveSlot[];
  backend: ImageBackend;
  store: InventoryStore;
  addresses?: Partial<ElementAddressScheme>;
  /** Cleanings a new cleaning cartridge has; 50 by default. */
  cleaningUses?: number;
  /** Chunk size of cartridges createCartridges makes (image default otherwise). */
  chunkSize?: number;
  logger?: Logger;
  /**
   * Test hook: called at each step of a move once that step is done. Throwing simulates a crash
   * there: the move stops without any rollback, as if the process had died.
   */
  faults?: (step: MoveStep, barcode: string) => void | Promise<void>;
}

export class Inventory extends EventEmitter<InventoryEvents> {
  readonly layout: ElementLayout;
  readonly drives: readonly DriveSlot[];
  readonly backend: ImageBackend;
  readonly cleaningUses: number;
  readonly chunkSize: number | undefined;
  readonly logger: Logger;
  private readonly operator: OperatorActions;

  private readonly records = new Map<string, CartridgeRecord>();
  private readonly occupants = new Map<string, string>();
  private readonly mailslotLocks = new Set<string>();
  /** Cartridges recorded in a drive whose image could not be loaded at open. */
  private readonly unavailable = new Set<string>();
  private generation = 0;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: InventoryOptions,
    private readonly store: InventoryStore,
  ) {
    super();
    this.layout = new ElementLayout(
      { slots: options.slots, mailslots: options.mailslots, drives: options.drives.length },
      options.addresses,
    );
    this.drives = options.drives;
    this.backend = options.backend;
    const uses = options.cleaningUses ?? DEFAULT_CLEANING_USES;
    if (!Number.isInteger(uses) || uses < 1 || uses > 1000)
      throw new VtlError('ERR_CONFIG', `cleaningUses must be 1..1000, got ${uses}`);
    this.cleaningUses = uses;
    this.chunkSize = options.chunkSize;
    this.logger = (options.logger ?? silentLogger).child({ component: 'inventory' });
    this.operator = new OperatorActions(this, {
      exclusive: (fn) => this.exclusive(fn),
      apply: (changes) => this.apply(changes),
    });
  }

  /**
   * Loads the saved inventory (or starts empty), drops locations the current layout no longer
   * has into the vault, and loads every cartridge recorded in a drive into that drive.
   */
  static async open(options: InventoryOptions): Promise<Inventory> {
    const inv = new Inventory(options, options.store);
    const state = await options.store.load();
    let dirty = state === null;
    for (const saved of state?.cartridges ?? []) {
      validateBarcodeIn(saved.barcode, options.store.where);
      if (inv.records.has(saved.barcode))
        throw new VtlError(
          'ERR_CONFIG',
          `${options.store.where}: cartridge ${saved.barcode} is listed twice`,
        );
      let rec = saved;
      if (
        rec.location.type !== 'vault' &&
        (!inv.layout.contains(rec.location) || inv.occupantOf(rec.location))
      ) {
        inv.logger.warn('cartridge location no longer exists or is taken; moved to the vault', {
          barcode: rec.barcode,
          location: rec.location,
        });
        rec = withoutPlace(rec, { type: 'vault' });
        dirty = true;
      }
      if (rec.home && !inv.layout.contains(rec.home)) rec = { ...rec, home: undefined };
      inv.put(rec.barcode, rec);
    }
    inv.generation = state?.generation ?? 0;
    if (dirty) await inv.save();
    await inv.reconcileDrives();
    return inv;
  }

  private async reconcileDrives(): Promise<void> {
    for (const [index, slot] of this.drives.entries()) {
      const rec = this.occupantOf({ type: 'drive', index });
      const held = slot.drive.cartridgeInDrive;
      if (held && held.label !== rec?.barcode) {
        throw new VtlError(
          'ERR_STATE',
          `drive ${index + 1} holds ${held.label}, but the inventory records ${rec ? rec.barcode : 'no cartridge'} there`,
        );
      }
      if (!rec || held) continue;
      try {
        await this.loadInto(slot, rec.barcode);
        this.logger.info('cartridge reloaded into its drive', { barcode: rec.barcode, drive: index + 1 });
      } catch (err) {
        this.unavailable.add(rec.barcode);
        this.logger.error('cartridge recorded in a drive cannot be loaded', { barcode: rec.barcode, err });
      }
    }
  }

  // ---- queries --------------------------------------------------------------------------------

  cartridge(barcode: string): CartridgeRecord | undefined {
    return this.records.get(barcode);
  }

  occupantOf(ref: ElementRef): CartridgeRecord | null {
    const barcode = this.occupants.get(elementKey(ref));
    return barcode === undefined ? null : this.records.get(barcode)!;
  }

  /** Every cartridge, sorted by barcode. */
  list(): CartridgeRecord[] {
    return [...this.records.values()].sort((a, b) => (a.barcode < b.barcode ? -1 : 1));
  }

  /** Every element in address order with its cartridge. */
  elements(): { ref: ElementRef; address: number; cartridge: CartridgeRecord | null }[] {
    return this.layout.all.map((e) => ({
      ref: { type: e.type, index: e.index },
      address: e.address,
      cartridge: this.occupantOf(e),
    }));
  }

  /** True when the image of a cartridge recorded in a drive could not be loaded at open. */
  isUnavailable(barcode: string): boolean {
    return this.unavailable.has(barcode);
  }

  // ---- operator actions (operator.ts) ---------------------------------------------------------

  /** Creates cartridges ('E01001L8', 'E01001L8..E01020L8') in free slots or the vault. */
  createCartridges(
    specs: string | readonly string[],
    options: CreateCartridgesOptions = {},
  ): Promise<CartridgeRecord[]> {
    return this.operator.createCartridges(specs, options);
  }

  /** Vault → mailslot (first free one, or `mailslot`, 0-based); 28/01 for every initiator. */
  insertIntoMailslot(barcode: string, options: { mailslot?: number } = {}): Promise<CartridgeRecord> {
    return this.operator.insertIntoMailslot(barcode, options);
  }

  /** Mailslot → vault, by barcode or mailslot index; 28/01 for every initiator. */
  removeFromMailslot(which: string | { mailslot: number }): Promise<CartridgeRecord> {
    return this.operator.removeFromMailslot(which);
  }

  /** Deletes a cartridge in a slot or the vault, and its image unless `keepImage`. */
  deleteCartridge(barcode: string, options: { keepImage?: boolean } = {}): Promise<void> {
    return this.operator.deleteCartridge(barcode, options);
  }

  // ---- mailslot lock (the changer's PREVENT ALLOW MEDIUM REMOVAL) -----------------------------

  /** SMC-3 PREVENT ALLOW MEDIUM REMOVAL: the mailslots stay locked while any holder prevents. */
  setMailslotLock(holder: string, locked: boolean): void {
    if (locked) this.mailslotLocks.add(holder);
    else this.mailslotLocks.delete(holder);
  }

  /** Drops one holder's lock (nexus loss) or every lock (reset). */
  clearMailslotLocks(holder?: string): void {
    if (holder === undefined) this.mailslotLocks.clear();
    else this.mailslotLocks.delete(holder);
  }

  get mailslotsLocked(): boolean {
    return this.mailslotLocks.size > 0;
  }

  // ---- moves ------------------------------------------------------------------------------------

  /**
   * Moves a cartridge between elements (MOVE MEDIUM). A cartridge still loaded in a drive is
   * unloaded first (PBS and Bacula's mtx-changer do not eject before the move, clients.md 1b);
   * a cleaning cartridge moved into a drive cleans it.
   */
  move(from: ElementRef, to: ElementRef, by: 'changer' | 'operator' = 'changer'): Promise<void> {
    return this.exclusive(() => {
      this.checkElement(from, 'source');
      this.checkElement(to, 'destination');
      return this.moveNow(from, to, by);
    });
  }

  /**
   * EXCHANGE MEDIUM (SMC-3): the source's cartridge goes to the first destination, whose
   * cartridge goes to the second destination (which may be the source). Done as moves through
   * the transport element, each persisted: a crash in between leaves a cartridge in the gripper,
   * visible in the element status and movable from there.
   */
  exchange(source: ElementRef, first: ElementRef, second: ElementRef): Promise<void> {
    return this.exclusive(async () => {
      this.checkElement(source, 'source');
      this.checkElement(first, 'destination');
      this.checkElement(second, 'second-destination');
      if (!this.occupantOf(source)) throw sourceEmpty(source, 'source');
      if (!this.occupantOf(first)) throw sourceEmpty(first, 'destination');
      if (sameElement(second, source)) {
        const gripper: ElementRef = { type: 'transport', index: 0 };
        if (sameElement(first, source)) return;
        if (this.occupantOf(gripper)) throw destinationFull(gripper, 'transport');
        await this.moveNow(source, gripper, 'changer');
        await this.moveNow(first, source, 'changer');
        await this.moveNow(gripper, first, 'changer');
        return;
      }
      if (this.occupantOf(second)) throw destinationFull(second, 'second-destination');
      await this.moveNow(first, second, 'changer');
      await this.moveNow(source, first, 'changer');
    });
  }

  private async moveNow(from: ElementRef, to: ElementRef, by: 'changer' | 'operator'): Promise<void> {
    const rec = this.occupantOf(from);
    if (!rec) throw sourceEmpty(from, 'source');
    if (this.occupantOf(to)) throw destinationFull(to, 'destination');
    const barcode = rec.barcode;
    const fromDrive = from.type === 'drive' ? this.drives[from.index] : null;
    const toDrive = to.type === 'drive' ? this.drives[to.index] : null;

    if (fromDrive) {
      await this.takeOut(fromDrive, rec, from);
      await this.options.faults?.('unloaded', barcode);
    }
    const cleaning = rec.cleaningUsesLeft !== undefined;
    const uses = rec.cleaningUsesLeft ?? 0;
    const next: CartridgeRecord = {
      ...withoutPlace(rec, to),
      home: from.type === 'slot' || from.type === 'mailslot' ? from : rec.home,
      // A cleaning counts when it happens, i.e. when the cartridge enters a drive.
      ...(cleaning ? { cleaningUsesLeft: toDrive && uses > 0 ? uses - 1 : uses } : {}),
    };
    try {
      await this.apply([{ barcode, next }]);
    } catch (err) {
      if (fromDrive) await this.loadInto(fromDrive, barcode).catch(() => undefined);
      throw err;
    }
    await this.options.faults?.('persisted', barcode);

    if (toDrive) {
      try {
        await this.loadInto(toDrive, barcode);
      } catch (err) {
        // Undo: the cartridge goes back where it was, so nothing points at a drive without it.
        await this.apply([{ barcode, next: rec }]);
        if (fromDrive) await this.loadInto(fromDrive, barcode).catch(() => undefined);
        throw new MoveError(
          'load-failed',
          'destination',
          `cannot load ${barcode}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      this.unavailable.delete(barcode);
      await this.options.faults?.('loaded', barcode);
      if (cleaning) this.clean(to.index, barcode, uses);
    }
    this.logger.info('cartridge moved', {
      barcode,
      from: describeElement(from),
      to: describeElement(to),
      by,
    });
    this.emit('moved', { barcode, from, to, by });
  }

  /** Unloads a drive for a move out of it: refused while an initiator prevents removal (53/02). */
  private async takeOut(slot: DriveSlot, rec: CartridgeRecord, from: ElementRef): Promise<void> {
    if (slot.drive.removalPrevented) throw removalPrevented(from);
    let image;
    try {
      image = await slot.drive.unload();
    } catch (err) {
      if (slot.drive.removalPrevented) throw removalPrevented(from);
      throw err;
    }
    if (!image) return;
    if (image.label !== rec.barcode) {
      throw new VtlError('ERR_STATE', `drive ${from.index + 1} held ${image.label}, not ${rec.barcode}`);
    }
    await image.close();
  }

  private async loadInto(slot: DriveSlot, barcode: string): Promise<void> {
    const image = await openTapeImage(this.backend, barcode);
    try {
      await slot.drive.load(image);
    } catch (err) {
      await image.close();
      throw err;
    }
  }

  /**
   * A cleaning cartridge in a drive: with uses left it clears the drive's cleaning-required
   * TapeAlert flags (20 CLEAN NOW, 21 CLEAN PERIODIC) at once — PBS moves it straight back out,
   * clients.md 3 — and an expired one raises flag 22 EXPIRED CLEANING MEDIA instead. The drive
   * reports NOT READY 30/03 CLEANING CARTRIDGE INSTALLED to medium access while it holds it.
   */
  private clean(drive: number, barcode: string, usesBefore: number): void {
    const expired = usesBefore === 0;
    // The drive ends its cleaning-required flags and restarts its hours/bytes count (src/vtl/ssc).
    this.drives[drive].drive.clean({ expired });
    this.logger.info(expired ? 'expired cleaning cartridge loaded' : 'drive cleaned', {
      barcode,
      drive: drive + 1,
    });
    this.emit('cleaned', { barcode, drive, usesLeft: expired ? 0 : usesBefore - 1, expired });
  }

  private checkElement(ref: ElementRef, field: MoveError['field']): void {
    if (!this.layout.contains(ref)) {
      throw new MoveError('invalid-element', field, `the library has no ${describeElement(ref)}`);
    }
  }

  // ---- state and persistence --------------------------------------------------------------------

  /** Runs `fn` with no other inventory operation in between. */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(noop, noop);
    return run;
  }

  /** Applies record changes (null deletes) and persists them; on a failed save nothing changes. */
  private async apply(changes: readonly { barcode: string; next: CartridgeRecord | null }[]): Promise<void> {
    const before = changes.map((c) => ({ barcode: c.barcode, next: this.records.get(c.barcode) ?? null }));
    for (const c of changes) this.put(c.barcode, null);
    for (const c of changes) this.put(c.barcode, c.next);
    try {
      await this.save();
    } catch (err) {
      for (const c of changes) this.put(c.barcode, null);
      for (const b of before) this.put(b.barcode, b.next);
      this.generation -= 1;
      throw err;
    }
  }

  private put(barcode: string, rec: CartridgeRecord | null): void {
    const old = this.records.get(barcode);
    if (old && old.location.type !== 'vault') this.occupants.delete(elementKey(old.location));
    if (!rec) {
      this.records.delete(barcode);
      return;
    }
    if (rec.location.type !== 'vault') {
      const key = elementKey(rec.location);
      const other = this.occupants.get(key);
      if (other !== undefined && other !== barcode)
        throw new VtlError('ERR_STATE', `${describeElement(rec.location)} already holds ${other}`);
      this.occupants.set(key, barcode);
    }
    this.records.set(barcode, rec);
  }

  private save(): Promise<void> {
    this.generation += 1;
    return this.store.save({
      formatVersion: INVENTORY_FORMAT_VERSION,
      generation: this.generation,
      cartridges: [...this.records.values()].map(compact),
    });
  }
}

/** Drops undefined fields so the JSON carries only what is set. */
function compact(rec: CartridgeRecord): CartridgeRecord {
  return Object.fromEntries(
    Object.entries(rec).filter(([, v]) => v !== undefined),
  ) as unknown as CartridgeRecord;
}

function validateBarcodeIn(barcode: string, where: string): void {
  try {
    validateBarcode(barcode);
  } catch (err) {
    throw new VtlError('ERR_CONFIG', `${where}: ${(err as Error).message}`);
  }
}

function sourceEmpty(ref: ElementRef, field: MoveError['field']): MoveError {
  return new MoveError('source-empty', field, `${describeElement(ref)} is empty`);
}

function destinationFull(ref: ElementRef, field: MoveError['field']): MoveError {
  return new MoveError('destination-full', field, `${describeElement(ref)} is full`);
}

function removalPrevented(ref: ElementRef): MoveError {
  return new MoveError(
    'removal-prevented',
    'source',
    `an initiator prevents medium removal from ${describeElement(ref)} (PREVENT ALLOW MEDIUM REMOVAL)`,
  );
}

function noop(): void {}

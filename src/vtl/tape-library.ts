/**
 * One tape library: the drives (LUNs 1..N) and, when configured, the medium changer at LUN 0
 * with its inventory, over one image backend. A VirtualLibrary serves one or several of these,
 * each as its own iSCSI target (issue 3 'Several libraries in one server').
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stableSerial } from '../target/scsi/identity.js';
import type { LogicalUnit } from '../target/scsi/types.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { LibraryConfig, LibrarySpec } from './config.js';
import { createCartridge, openTapeImage } from './image/cartridge.js';
import { createFileBackend } from './image/file-backend.js';
import { createMemoryBackend } from './image/memory-backend.js';
import type { ImageBackend } from './image/types.js';
import { expandBarcodes, mediaTypeFromBarcode } from './inventory/barcode.js';
import { Inventory } from './inventory/inventory.js';
import { createFileInventoryStore, createMemoryInventoryStore } from './inventory/store.js';
import type { DriveSlot } from './inventory/types.js';
import { createMediumChanger, defaultChangerSerial, type MediumChangerUnit } from './smc/index.js';
import type { TapeDrive } from './ssc/drive.js';
import { createTapeDrive } from './ssc/index.js';
import { LibraryMigration, type LibraryMigrationOptions } from './library-migration.js';

export interface LibraryDrive {
  readonly lun: number;
  readonly serial: string;
  readonly drive: TapeDrive;
  readonly lu: LogicalUnit;
}

/** What a library's changer is, for status views. */
export interface ChangerInfo {
  readonly lun: 0;
  readonly model: string;
  readonly serial: string;
}

/** A stable 10-character serial per target and LUN, so restarts keep device identities. */
export function defaultDriveSerial(targetName: string, lun: number): string {
  return stableSerial('V', `${targetName} drive ${lun}`, 10);
}

export class TapeLibrary {
  private closed = false;

  private constructor(
    readonly spec: LibrarySpec,
    readonly backend: ImageBackend,
    readonly drives: readonly LibraryDrive[],
    /** The changer's inventory; null for standalone drives. */
    readonly inventory: Inventory | null,
    private readonly changerUnit: MediumChangerUnit | null,
    /** Cloud migration (issue 4); null without a `migration` section. */
    readonly migration: LibraryMigration | null,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get targetName(): string {
    return this.spec.targetName;
  }

  get changer(): ChangerInfo | null {
    const c = this.spec.changer;
    if (!c || !this.changerUnit) return null;
    return { lun: 0, model: c.model, serial: c.serial ?? defaultChangerSerial(this.spec.targetName) };
  }

  /** The LUNs this library's target serves. */
  luns(): Map<number, LogicalUnit> {
    const luns = new Map<number, LogicalUnit>(this.drives.map((d) => [d.lun, d.lu]));
    if (this.changerUnit) luns.set(0, this.changerUnit.lu);
    return luns;
  }

  /**
   * Builds the drives (loading standalone drives' cartridges, creating them blank when absent),
   * then opens the inventory when there is a changer: on first start the configured cartridges
   * are created in free slots. On failure everything opened so far is closed again.
   */
  static async open(
    spec: LibrarySpec,
    common: Pick<LibraryConfig, 'backend' | 'chunkSize'>,
    options: { logger?: Logger; backend?: ImageBackend; migration?: LibraryMigrationOptions } = {},
  ): Promise<TapeLibrary> {
    const baseLogger = options.logger ?? silentLogger;
    const logger = baseLogger.child({ component: 'library', library: spec.name });
    const backend =
      options.backend ??
      (common.backend === 'memory' ? createMemoryBackend() : createFileBackend(resolve(spec.dataDir)));
    const drives: LibraryDrive[] = [];
    let changer: MediumChangerUnit | null = null;
    let inventory: Inventory | null = null;
    let migration: LibraryMigration | null = null;
    try {
      for (const [index, dc] of spec.drives.entries()) {
        const lun = index + 1;
        const serial = dc.serial ?? defaultDriveSerial(spec.targetName, lun);
        const { load: _load, serial: _serial, ...driveOptions } = dc;
        const { drive, lu } = createTapeDrive({ ...driveOptions, serial, logger: baseLogger });
        drives.push({ lun, serial, drive, lu });
        if (dc.load) {
          if (!(await backend.exists(dc.load))) {
            await createCartridge(backend, {
              label: dc.load,
              mediaType: mediaTypeFromBarcode(dc.load),
              chunkSize: common.chunkSize,
            });
            logger.info('cartridge created', { barcode: dc.load });
          }
          await drive.load(await openTapeImage(backend, dc.load));
          logger.info('cartridge loaded', { barcode: dc.load, lun });
        }
      }
      if (spec.changer) {
        inventory = await openInventory(spec, common, backend, drives, baseLogger);
        changer = createMediumChanger({
          inventory,
          model: spec.changer.model,
          serial: spec.changer.serial ?? defaultChangerSerial(spec.targetName),
          logger: baseLogger,
        });
      }
      // After the changer, so the unit attention of the first trigger reaches its initiators;
      // resumes the jobs a stop interrupted.
      if (spec.migration && inventory) {
        migration = await LibraryMigration.open(spec, inventory, backend, baseLogger, options.migration);
      }
    } catch (err) {
      await migration?.close();
      if (changer) await changer.lu.close();
      await Promise.allSettled(drives.map((d) => d.lu.close()));
      throw err;
    }
    return new TapeLibrary(spec, backend, drives, inventory, changer, migration, logger);
  }

  /**
   * Stops migration jobs (they resume on the next open), then syncs and closes the changer and
   * every drive. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.migration) {
      await this.migration.close().catch((err: unknown) => {
        this.logger.error('migration close failed', { err });
      });
    }
    if (this.changerUnit) await this.changerUnit.lu.close();
    const results = await Promise.allSettled(this.drives.map((d) => d.lu.close()));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') {
        this.logger.error('drive close failed', { lun: this.drives[i].lun, err: r.reason });
      }
    }
  }
}

async function openInventory(
  spec: LibrarySpec,
  common: Pick<LibraryConfig, 'backend' | 'chunkSize'>,
  backend: ImageBackend,
  drives: readonly LibraryDrive[],
  logger: Logger,
): Promise<Inventory> {
  const changer = spec.changer!;
  const slots: DriveSlot[] = drives.map((d) => ({
    serial: d.serial,
    vendor: d.drive.model.vendor,
    product: d.drive.model.product,
    lun: d.lun,
    drive: d.drive,
  }));
  let store;
  if (common.backend === 'memory') {
    store = createMemoryInventoryStore();
  } else {
    await mkdir(resolve(spec.dataDir), { recursive: true });
    store = createFileInventoryStore(join(resolve(spec.dataDir), 'inventory.json'));
  }
  const inventory = await Inventory.open({
    slots: changer.slots,
    mailslots: changer.mailslots,
    drives: slots,
    backend,
    store,
    cleaningUses: changer.cleaningUses,
    chunkSize: common.chunkSize,
    logger: logger.child({ library: spec.name }),
  });
  if (inventory.list().length === 0 && changer.cartridges.length > 0) {
    const created = await inventory.createCartridges(expandBarcodes(changer.cartridges));
    logger
      .child({ component: 'library', library: spec.name })
      .info('cartridges created', { count: created.length });
  }
  return inventory;
}

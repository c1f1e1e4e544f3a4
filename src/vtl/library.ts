/**
 * VirtualLibrary: the embeddable whole — tape drives over an image backend, served as LUNs of
 * one iSCSI target. `npm start`, `vtl serve` and tests all start one of these.
 *
 * LUN 0 is the medium changer when one is configured (`changer`: slots, mailslots, an
 * inventory of barcoded cartridges); drives are LUNs 1..N.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IscsiTarget } from '../target/iscsi-target.js';
import type { LogicalUnit } from '../target/scsi/types.js';
import { createTransport } from '../target/transport/index.js';
import type { Portal } from '../target/transport/types.js';
import { VtlError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { expandBarcodes, mediaTypeFromBarcode } from './inventory/barcode.js';
import { Inventory } from './inventory/inventory.js';
import { createFileInventoryStore, createMemoryInventoryStore } from './inventory/store.js';
import type { DriveSlot } from './inventory/types.js';
import { createMediumChanger, defaultChangerSerial, type MediumChangerUnit } from './smc/index.js';
import { parseLibraryConfig, type LibraryConfig, type LibraryConfigInput } from './config.js';
import { createCartridge, openTapeImage } from './image/cartridge.js';
import { createFileBackend } from './image/file-backend.js';
import { createMemoryBackend } from './image/memory-backend.js';
import type { ImageBackend } from './image/types.js';
import { createTapeDrive } from './ssc/index.js';
import type { TapeDrive } from './ssc/drive.js';

export interface LibraryDrive {
  readonly lun: number;
  readonly serial: string;
  readonly drive: TapeDrive;
  readonly lu: LogicalUnit;
}

export interface StartOptions {
  logger?: Logger;
  /** An image backend to use instead of the one the config names (e.g. shared between libraries). */
  backend?: ImageBackend;
}

/** Parses "host:port" and "[v6]:port". */
export function parsePortal(text: string): Portal {
  const i = text.lastIndexOf(':');
  const host = text.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VtlError('ERR_CONFIG', `portal ${JSON.stringify(text)} is not HOST:PORT`);
  }
  return { host, port };
}

/** A stable 10-character serial per target and LUN, so restarts keep device identities. */
export function defaultDriveSerial(targetName: string, lun: number): string {
  const h = createHash('sha256').update(`${targetName}\0drive\0${lun}`).digest();
  return (
    'V' +
    BigInt('0x' + h.subarray(0, 8).toString('hex'))
      .toString(36)
      .toUpperCase()
      .padStart(9, '0')
      .slice(0, 9)
  );
}

export class VirtualLibrary {
  private stopped = false;

  private constructor(
    readonly config: LibraryConfig,
    readonly backend: ImageBackend,
    readonly drives: readonly LibraryDrive[],
    /** The changer's inventory, when a changer is configured. */
    readonly inventory: Inventory | null,
    private readonly changer: MediumChangerUnit | null,
    private readonly target: IscsiTarget,
    private readonly logger: Logger,
  ) {}

  /** Validates the config, opens or creates the cartridges drives load, and starts serving. */
  static async start(
    input: LibraryConfigInput | LibraryConfig = {},
    options: StartOptions = {},
  ): Promise<VirtualLibrary> {
    const config = parseLibraryConfig(input);
    const logger = (options.logger ?? silentLogger).child({ component: 'library' });
    const backend =
      options.backend ??
      (config.backend === 'memory' ? createMemoryBackend() : createFileBackend(resolve(config.dataDir)));
    const portals = config.portals.map(parsePortal);

    const drives: LibraryDrive[] = [];
    try {
      for (const [index, dc] of config.drives.entries()) {
        const lun = index + 1;
        const serial = dc.serial ?? defaultDriveSerial(config.targetName, lun);
        const { drive, lu } = createTapeDrive({
          model: dc.model,
          serial,
          logger: options.logger ?? silentLogger,
        });
        drives.push({ lun, serial, drive, lu });
        if (dc.load) {
          if (!(await backend.exists(dc.load))) {
            await createCartridge(backend, {
              label: dc.load,
              mediaType: mediaTypeFromBarcode(dc.load),
              chunkSize: config.chunkSize,
            });
            logger.info('cartridge created', { barcode: dc.load });
          }
          await drive.load(await openTapeImage(backend, dc.load));
          logger.info('cartridge loaded', { barcode: dc.load, lun });
        }
      }
    } catch (err) {
      await Promise.allSettled(drives.map((d) => d.lu.close()));
      throw err;
    }

    let inventory: Inventory | null = null;
    let changer: MediumChangerUnit | null = null;
    if (config.changer) {
      try {
        inventory = await openInventory(config, backend, drives, options.logger ?? silentLogger);
        changer = createMediumChanger({
          inventory,
          model: config.changer.model,
          serial: config.changer.serial ?? defaultChangerSerial(config.targetName),
          logger: options.logger ?? silentLogger,
        });
      } catch (err) {
        await Promise.allSettled(drives.map((d) => d.lu.close()));
        throw err;
      }
    }
    const luns = new Map<number, LogicalUnit>(drives.map((d) => [d.lun, d.lu]));
    if (changer) luns.set(0, changer.lu);

    const target = new IscsiTarget({
      targets: [
        {
          name: config.targetName,
          ...(config.alias !== undefined ? { alias: config.alias } : {}),
          luns,
          ...(config.auth.chap
            ? {
                chap: {
                  ...config.auth.chap,
                  ...(config.auth.mutualChap ? { mutual: config.auth.mutualChap } : {}),
                },
              }
            : {}),
          ...(config.auth.allowedInitiators ? { allowedInitiators: config.auth.allowedInitiators } : {}),
        },
      ],
      transport: createTransport(config.transport),
      portals,
      maxRecvDataSegmentLength: config.iscsi.maxRecvDataSegmentLength,
      maxBurstLength: config.iscsi.maxBurstLength,
      firstBurstLength: config.iscsi.firstBurstLength,
      maxOutstandingR2T: config.iscsi.maxOutstandingR2T,
      initialR2T: config.iscsi.initialR2T,
      immediateData: config.iscsi.immediateData,
      commandWindow: config.iscsi.commandWindow,
      maxConnections: config.iscsi.maxConnections,
      nopInterval: Math.round(config.iscsi.nopInterval * 1000),
      nopTimeout: Math.round(config.iscsi.nopTimeout * 1000),
      logger: options.logger ?? silentLogger,
    });
    try {
      await target.start();
    } catch (err) {
      await Promise.allSettled([...drives.map((d) => d.lu.close()), changer?.lu.close()]);
      throw err;
    }
    return new VirtualLibrary(config, backend, drives, inventory, changer, target, logger);
  }

  get targetName(): string {
    return this.config.targetName;
  }

  /** Bound portals (the real port when 0 was configured). */
  get portals(): Portal[] {
    return this.target.portals;
  }

  /** Stops serving, then syncs and closes every drive. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.target.stop();
    if (this.changer) await this.changer.lu.close();
    const results = await Promise.allSettled(this.drives.map((d) => d.lu.close()));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected')
        this.logger.error('drive close failed', { lun: this.drives[i].lun, err: r.reason });
    }
    this.logger.info('library stopped');
  }
}

/**
 * Opens (or, on first start, creates) the inventory of a library with a changer; cartridges
 * listed in the config are created in free slots the first time.
 */
async function openInventory(
  config: LibraryConfig,
  backend: ImageBackend,
  drives: readonly LibraryDrive[],
  logger: Logger,
): Promise<Inventory> {
  const changer = config.changer!;
  const slots: DriveSlot[] = drives.map((d) => ({
    serial: d.serial,
    vendor: d.drive.model.vendor,
    product: d.drive.model.product,
    lun: d.lun,
    drive: d.drive,
  }));
  let store;
  if (config.backend === 'memory') {
    store = createMemoryInventoryStore();
  } else {
    await mkdir(resolve(config.dataDir), { recursive: true });
    store = createFileInventoryStore(join(resolve(config.dataDir), 'inventory.json'));
  }
  const inventory = await Inventory.open({
    slots: changer.slots,
    mailslots: changer.mailslots,
    drives: slots,
    backend,
    store,
    cleaningUses: changer.cleaningUses,
    chunkSize: config.chunkSize,
    logger,
  });
  if (inventory.list().length === 0 && changer.cartridges.length > 0) {
    const created = await inventory.createCartridges(expandBarcodes(changer.cartridges));
    logger.child({ component: 'library' }).info('cartridges created', { count: created.length });
  }
  return inventory;
}

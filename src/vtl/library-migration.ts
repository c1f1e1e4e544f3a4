/**
 * Cloud migration wired into one library (issue 4): the library's Migrator, the LibraryHooks it
 * asks the inventory through, and QUADStor's trigger — a cartridge an initiator moves into an
 * import/export element leaves through it into the vault (as if an operator had taken it out:
 * the mailslot is free again and every initiator gets 06/28/01, SMC-3 6.1), then the
 * post-vault command runs and the export starts.
 *
 * The inventory stays the truth of what the library holds: the Migrator gets the image backend
 * through a wrapper whose `remove` deletes the inventory record first and the image second (the
 * order `Inventory.deleteCartridge` keeps), so deleteAfterExport, deleteAfterImport and an
 * import with `replace` never leave a record pointing at a missing image. The Migrator removes
 * a cartridge only after every chunk and the manifest are verified on the remote.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseQuadstorRcloneConf, type MigrationConfig } from '../migrate/config.js';
import type { ImportOptions } from '../migrate/import-job.js';
import type { JobRecord } from '../migrate/job-store.js';
import { Migrator, type LibraryHooks } from '../migrate/migrator.js';
import type { Remote } from '../migrate/remote.js';
import { VtlError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { LibrarySpec, MigrationSection } from './config.js';
import type { CartridgeMeta, ImageBackend } from './image/types.js';
import { describeElement } from './inventory/elements.js';
import type { Inventory } from './inventory/inventory.js';
import type { InventoryEvents, Location } from './inventory/types.js';

export interface LibraryMigrationOptions {
  /** Extra environment for rclone (`RCLONE_CONFIG_<NAME>_<KEY>`): credentials kept out of files. */
  rcloneEnv?: Readonly<Record<string, string>>;
  /** A remote to use instead of the one the config names (embedding, tests). */
  remote?: Remote;
}

type MovedEvent = InventoryEvents['moved'][0];

/** Reads the library's `migration` section into the module's config (QUADStor file included). */
export async function resolveMigrationConfig(spec: LibrarySpec): Promise<MigrationConfig> {
  const section = spec.migration as MigrationSection;
  const { jobDir: _jobDir, quadstorConf, ...rest } = section;
  if (quadstorConf === undefined) return rest as MigrationConfig;
  const file = resolve(quadstorConf);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new VtlError(
      'ERR_CONFIG',
      `library "${spec.name}": migration.quadstorConf: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  return parseQuadstorRcloneConf(text, file, rest);
}

/** The image backend as the Migrator sees it: removing a cartridge removes its record first. */
function inventoryBackend(backend: ImageBackend, inventory: Inventory): ImageBackend {
  const rename = backend.rename?.bind(backend);
  return {
    open: (label, options) => backend.open(label, options),
    list: () => backend.list(),
    exists: (label) => backend.exists(label),
    // deleteCartridge refuses a cartridge in a drive or a mailslot, so a race with a MOVE into
    // a drive fails the job and leaves the cartridge where it is, readable.
    remove: (label) =>
      inventory.cartridge(label) !== undefined ? inventory.deleteCartridge(label) : backend.remove(label),
    // An import places its temporary cartridge under the barcode; the inventory adopts it after.
    ...(rename === undefined ? {} : { rename }),
  };
}

function where(location: Location): string {
  return location.type === 'vault' ? 'the vault' : describeElement(location);
}

export class LibraryMigration {
  readonly migrator: Migrator;
  /**
   * Cartridges the robot put into a mailslot (not the operator: those carry `imported`): each
   * is exported once it reaches the vault, whether the library moved it there at once or an
   * operator took it out later (the mailslots were locked by PREVENT MEDIUM REMOVAL).
   */
  private readonly outbound = new Set<string>();
  private closed = false;
  private readonly log: Logger;
  private readonly onMoved = (e: MovedEvent): void => this.moved(e);

  private constructor(
    readonly library: string,
    readonly config: MigrationConfig,
    private readonly inventory: Inventory,
    logger: Logger,
    jobDir: string,
    backend: ImageBackend,
    options: LibraryMigrationOptions,
  ) {
    this.log = logger.child({ component: 'migration', library });
    this.migrator = new Migrator({
      config,
      backend: inventoryBackend(backend, inventory),
      jobDir,
      logger,
      hooks: this.hooks(),
      ...(options.remote ? { remote: options.remote } : {}),
      ...(options.rcloneEnv ? { rcloneEnv: options.rcloneEnv } : {}),
    });
  }

  /**
   * Builds the Migrator for a library with a `migration` section, resumes the jobs a stop
   * interrupted, and exports what the robot left in a mailslot before the stop.
   */
  static async open(
    spec: LibrarySpec,
    inventory: Inventory,
    backend: ImageBackend,
    logger: Logger,
    options: LibraryMigrationOptions = {},
  ): Promise<LibraryMigration> {
    const config = await resolveMigrationConfig(spec);
    const jobDir = resolve(spec.migration?.jobDir ?? join(spec.dataDir, 'migrate'));
    const m = new LibraryMigration(spec.name, config, inventory, logger, jobDir, backend, options);
    await m.migrator.start();
    inventory.on('moved', m.onMoved);
    for (const rec of inventory.list()) {
      if (rec.location.type === 'mailslot' && rec.imported !== true) {
        m.outbound.add(rec.barcode);
        m.toVault(rec.barcode);
      }
    }
    return m;
  }

  /** `vtl export BARCODE`: a cartridge in a slot or the vault; it stays where it is. */
  async exportCartridge(barcode: string): Promise<JobRecord> {
    const rec = this.inventory.cartridge(barcode);
    if (rec === undefined)
      throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${barcode} in library "${this.library}"`);
    const t = rec.location.type;
    if (t === 'drive' || t === 'transport')
      throw new VtlError('ERR_STATE', `${barcode} is in ${where(rec.location)}: unload it first`);
    if (t === 'mailslot') {
      throw new VtlError(
        'ERR_STATE',
        `${barcode} is in ${where(rec.location)}: take it out first (vtl mailslot remove ${barcode})`,
      );
    }
    return this.migrator.exportCartridge(barcode);
  }

  /** `vtl import JOB|BARCODE`: refused up front when a mailslot is asked for and none is free. */
  async importCartridge(key: string, options: ImportOptions = {}): Promise<JobRecord> {
    if (options.target === 'mailslot') {
      if (this.inventory.mailslotsLocked) {
        throw new VtlError(
          'ERR_STATE',
          'the mailslots are locked: an initiator prevents medium removal; import to the vault instead',
        );
      }
      if (this.freeMailslots() === 0)
        throw new VtlError('ERR_STATE', 'every mailslot is full; free one or import to the vault');
    }
    return this.migrator.importCartridge(key, options);
  }

  /** Stops running jobs (they resume on the next open) and the trigger. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inventory.off('moved', this.onMoved);
    await this.migrator.close();
  }

  // ---- the trigger ------------------------------------------------------------------------------

  private moved(e: MovedEvent): void {
    if (this.closed) return;
    if (e.to.type === 'mailslot' && e.from.type !== 'vault') {
      this.outbound.add(e.barcode);
      this.toVault(e.barcode);
    } else if (e.from.type === 'mailslot' && e.to.type === 'vault') {
      if (this.outbound.delete(e.barcode)) this.vaulted(e.barcode);
    } else if (e.from.type === 'mailslot') {
      // The initiator took it back into the library before it left.
      this.outbound.delete(e.barcode);
    }
  }

  /** Takes the cartridge out of its mailslot as an operator would (queued after the MOVE). */
  private toVault(barcode: string): void {
    this.inventory.removeFromMailslot(barcode).catch((err: unknown) => {
      this.log.warn('cartridge stays in its mailslot; its export starts when it is taken out', {
        barcode,
        reason: (err as Error).message,
      });
    });
  }

  private vaulted(barcode: string): void {
    this.migrator.vaulted(barcode).then(
      ({ job, hook }) => {
        this.log.info('cartridge vaulted, export queued', {
          barcode,
          job: job.id,
          state: job.state,
          ...(hook ? { postVaultExit: hook.code } : {}),
        });
      },
      (err: unknown) => {
        this.log.warn('cartridge vaulted, export not started', {
          barcode,
          reason: (err as Error).message,
        });
      },
    );
  }

  private freeMailslots(): number {
    let n = 0;
    for (let index = 0; index < this.inventory.layout.count('mailslot'); index++)
      if (!this.inventory.occupantOf({ type: 'mailslot', index })) n++;
    return n;
  }

  // ---- hooks ------------------------------------------------------------------------------------
  // Hooks after a verified export never throw: a failure there would fail a job whose data is
  // already safe (and, after deleteAfterExport, only on the remote).

  private hooks(): LibraryHooks {
    const inv = this.inventory;
    return {
      isBusy: (barcode) => {
        const t = inv.cartridge(barcode)?.location.type;
        return t === 'drive' || t === 'transport' || t === 'mailslot';
      },
      onExported: (e) => {
        this.log.info(e.deleted ? 'exported; local cartridge deleted' : 'exported', {
          barcode: e.barcode,
          job: e.jobId,
          remoteDir: e.remoteDir,
        });
      },
      generateSpareBarcode: (template) => this.spareBarcode(template),
      placeSpare: async (barcode) => {
        try {
          await inv.createCartridges([barcode]);
        } catch (err) {
          this.log.warn('no free slot for the spare; it goes to the vault', {
            barcode,
            reason: (err as Error).message,
          });
          await inv.createCartridges([barcode], { to: 'vault' }).catch((e: unknown) => {
            this.log.error('spare not placed', { barcode, reason: (e as Error).message });
          });
        }
      },
      placeImported: async (barcode, { target }) => {
        // The image is complete under its barcode: adopt it into the vault, then the door.
        let rec = inv.cartridge(barcode);
        if (rec === undefined) [rec] = await inv.createCartridges([barcode], { to: 'vault' });
        if (target !== 'mailslot' || rec.location.type !== 'vault') return;
        await inv.insertIntoMailslot(barcode).catch((err: unknown) => {
          this.log.warn('imported cartridge stays in the vault', {
            barcode,
            reason: (err as Error).message,
          });
        });
      },
    };
  }

  /** `SP0001L8` for an LTO-8 template: unused in the inventory and the backend. */
  private async spareBarcode(template: CartridgeMeta): Promise<string> {
    const suffix = /(L[5-9V-Z])$/.exec(template.label)?.[1] ?? 'L8';
    const taken = new Set([
      ...this.inventory.list().map((r) => r.barcode),
      ...(await this.inventory.backend.list()),
    ]);
    for (const prefix of ['SP', 'SQ', 'SR', 'SS', 'ST']) {
      for (let n = 1; n < 10_000; n++) {
        const label = `${prefix}${String(n).padStart(4, '0')}${suffix}`;
        if (!taken.has(label)) return label;
      }
    }
    throw new VtlError('ERR_STATE', 'no free spare barcode SP0001..ST9999');
  }
}

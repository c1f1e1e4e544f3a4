/**
 * The medium changer device state: the inventory it moves cartridges in, its personality, its
 * TapeAlert flags, and the SPC services of the logical unit that serves it (for the unit
 * attentions operator actions raise). Command handlers live in one file per command family.
 */
import { silentLogger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { SENSE } from '../../target/scsi/sense.js';
import type { SpcServices } from '../../target/scsi/types.js';
import type { Inventory } from '../inventory/inventory.js';
import type { Attention } from '../inventory/types.js';
import type { ChangerModel } from './models.js';

export class MediumChanger {
  readonly logger: Logger;
  /** Library TapeAlert flags (1..64) raised since the page was last read (log page 2Eh). */
  readonly tapeAlerts = new Set<number>();
  private services: SpcServices | null = null;
  private readonly onAttention = (kind: Attention): void => {
    // SMC-3 6.1 / SPC-4 5.14: an operator using the import/export element is reported with
    // 28/01; cartridges appearing in or leaving the library proper as after a door close, 28/00.
    this.services?.raiseUnitAttention(
      kind === 'import-export' ? SENSE.IMPORT_OR_EXPORT_ELEMENT_ACCESSED : SENSE.NOT_READY_TO_READY_CHANGE,
    );
  };

  constructor(
    readonly inventory: Inventory,
    readonly model: ChangerModel,
    logger: Logger = silentLogger,
  ) {
    this.logger = logger.child({ component: 'smc', model: model.key });
    inventory.on('attention', this.onAttention);
  }

  /** Connects the changer to the logical unit serving it. */
  attach(services: SpcServices): void {
    this.services = services;
  }

  /** Stops listening to the inventory (the logical unit is closing). */
  close(): void {
    this.inventory.off('attention', this.onAttention);
    this.services = null;
  }
}

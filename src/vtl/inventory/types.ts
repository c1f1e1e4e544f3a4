/**
 * The library model's vocabulary: where a cartridge is, what the inventory knows of it, the
 * drives it loads, and the events it emits.
 */
import type { MediaType } from '../image/types.js';
import type { TapeDrive } from '../ssc/drive.js';
import type { ElementRef } from './elements.js';

/** Outside the library: in the vault (on the shelf, or later in cloud storage). */
export interface VaultLocation {
  readonly type: 'vault';
}

/** A cartridge is in exactly one of these at any moment. */
export type Location = ElementRef | VaultLocation;

export interface CartridgeRecord {
  readonly barcode: string;
  readonly mediaType: MediaType;
  readonly location: Location;
  /**
   * The storage or import/export element the robot last took the cartridge from: a drive's
   * descriptor reports it with SVALID (SMC-3 READ ELEMENT STATUS, SOURCE STORAGE ELEMENT ADDRESS)
   * so PBS and mtx know which slot to return it to.
   */
  readonly home?: ElementRef;
  /** Cleaning cartridges: cleanings left; 0 = expired. */
  readonly cleaningUsesLeft?: number;
  /** True when the operator put it into its mailslot (SMC-3 IMPEXP: imported, not exported). */
  readonly imported?: boolean;
}

/**
 * One drive of the library as the inventory and the changer see it: the tape drive it loads
 * cartridges into, and the identity the changer reports in the drive's DVCID identifier, which
 * must equal the drive's INQUIRY vendor/product and VPD 80h serial (clients.md 2 'Identity').
 */
export interface DriveSlot {
  /** VPD 80h unit serial number of the drive (at most 10 characters: PBS decodes 34-byte DVCIDs). */
  readonly serial: string;
  /** INQUIRY vendor (8 characters, space padded when reported). */
  readonly vendor: string;
  /** INQUIRY product (16 characters). */
  readonly product: string;
  /** The drive's LUN on the target, reported in the descriptor when it is 0..7 (LU VALID). */
  readonly lun?: number;
  readonly drive: TapeDrive;
}

/** Who made a change: the robot on behalf of an initiator, or an operator through the API. */
export type Actor = 'changer' | 'operator';

/** What the changer must tell initiators after an operator action (SMC-3 unit attentions). */
export type Attention =
  /** An operator used a mailslot: IMPORT OR EXPORT ELEMENT ACCESSED (28/01). */
  | 'import-export'
  /** Cartridges appeared in or vanished from storage slots: NOT READY TO READY CHANGE (28/00). */
  | 'medium-changed';

export interface InventoryEvents {
  /** A cartridge changed place (vault included). Fired after the move is persisted and done. */
  moved: [event: { barcode: string; from: Location; to: Location; by: Actor }];
  created: [event: { barcode: string; location: Location }];
  deleted: [event: { barcode: string; from: Location }];
  /** A cleaning cartridge was moved into a drive. */
  cleaned: [event: { barcode: string; drive: number; usesLeft: number; expired: boolean }];
  attention: [kind: Attention];
}

/** Crash-test points of a move, in order (see Inventory `faults`). */
export type MoveStep = 'unloaded' | 'persisted' | 'loaded';

/** A record at a new place; the import flag belongs to the mailslot it was inserted into. */
export function withoutPlace(rec: CartridgeRecord, location: Location): CartridgeRecord {
  const { imported: _imported, ...rest } = rec;
  return { ...rest, location };
}

/**
 * The library's inventory model: elements and their addresses, cartridges by barcode and where
 * each one is, moves that are persisted before they complete, operator actions, cleaning.
 */
export {
  BARCODE_PATTERN,
  CLEANING_BARCODE_PATTERN,
  ANY_BARCODE_PATTERN,
  DEFAULT_CLEANING_USES,
  MAX_RANGE_LENGTH,
  isCleaningBarcode,
  validateBarcode,
  mediaTypeFromBarcode,
  expandBarcodeRange,
  expandBarcodes,
} from './barcode.js';
export {
  ElementLayout,
  ELEMENT_TYPE_CODE,
  DEFAULT_ELEMENT_ADDRESSES,
  elementKey,
  sameElement,
  describeElement,
} from './elements.js';
export type { ElementType, ElementRef, ElementAddressScheme, ElementCounts } from './elements.js';
export { Inventory, MoveError, TAPE_ALERT } from './inventory.js';
export type { InventoryOptions, MoveFailure } from './inventory.js';
export type { CreateCartridgesOptions } from './operator.js';
export {
  createFileInventoryStore,
  createMemoryInventoryStore,
  FileInventoryStore,
  MemoryInventoryStore,
  encodeInventory,
  decodeInventory,
  INVENTORY_FORMAT_VERSION,
} from './store.js';
export type { InventoryStore, InventoryState } from './store.js';
export type {
  Location,
  VaultLocation,
  CartridgeRecord,
  DriveSlot,
  Actor,
  Attention,
  InventoryEvents,
  MoveStep,
} from './types.js';

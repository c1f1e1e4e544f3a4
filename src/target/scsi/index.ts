/**
 * The SCSI layer: contracts (types, sense), the logical unit built from a device profile over
 * the shared SPC core, and the answer for LUNs with no device.
 */
export * from './types.js';
export * from './sense.js';
export { ScsiDevice, createLogicalUnit } from './device.js';
export type { LogicalUnitOptions } from './device.js';
export { CommandTable, checkCdb, toResponse, errorResponse } from './dispatch.js';
export { SPC_COMMANDS } from './spc/table.js';
export type { SpcCommandSpec, SpcContext, SpcCore } from './spc/context.js';
export {
  truncate,
  invalidCdbField,
  invalidParameter,
  parameterListLengthError,
  highestBit,
} from './spc/common.js';
export { standardInquiry, targetPortName } from './spc/inquiry.js';
export { encodeLun } from './spc/report-luns.js';
export { PrType } from './spc/pr-state.js';
export { UnsupportedLun, createUnsupportedLun } from './unsupported-lun.js';
export type { UnsupportedLunOptions } from './unsupported-lun.js';

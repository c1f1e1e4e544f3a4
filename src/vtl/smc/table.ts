/**
 * The SMC command table (STYLE.md 1), merged over the SPC core's table by createLogicalUnit:
 * dispatch, CDB length and reserved-bit checks (against `usage`), REPORT SUPPORTED OPERATION
 * CODES and log names come from here. TEST UNIT READY and REQUEST SENSE are the SPC core's: the
 * changer is always ready. EXCHANGE MEDIUM is in the table only for personalities that have it,
 * so others answer INVALID COMMAND OPERATION CODE and do not list it.
 *
 * Byte 11 of MOVE MEDIUM and EXCHANGE MEDIUM accepts the vendor-specific control bits 7-6 (mtx
 * puts its `eepos` there); INVERT is outside every mask: LTO cartridges have one side.
 */
import type { CommandSpec } from '../../target/scsi/types.js';
import type { MediumChanger } from './changer.js';
import { readElementStatus } from './element-status.js';
import {
  initializeElementStatus,
  initializeElementStatusWithRange,
  preventAllowMediumRemoval,
} from './initialize.js';
import type { ChangerModel } from './models.js';
import { exchangeMedium, moveMedium, positionToElement } from './move.js';

type SmcCommandSpec = CommandSpec<MediumChanger>;

/** Nominal timeouts (seconds) as a real library states them: mtx and PBS allow 30 min for inventory. */
const MOVE_TIMEOUT = 300;
const INVENTORY_TIMEOUT = 1800;

export const SMC_COMMANDS = [
  {
    name: 'INITIALIZE ELEMENT STATUS',
    opcode: 0x07,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00],
    timeout: INVENTORY_TIMEOUT,
    handler: initializeElementStatus,
  },
  {
    name: 'PREVENT ALLOW MEDIUM REMOVAL',
    opcode: 0x1e,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x00, 0x00, 0x00, 0x01, 0x00],
    timeout: 10,
    handler: preventAllowMediumRemoval,
  },
  {
    name: 'POSITION TO ELEMENT',
    opcode: 0x2b,
    cdbLength: 10,
    direction: 'none',
    usage: [0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00],
    timeout: MOVE_TIMEOUT,
    handler: positionToElement,
  },
  {
    name: 'MOVE MEDIUM',
    opcode: 0xa5,
    cdbLength: 12,
    direction: 'none',
    usage: [0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xc0],
    timeout: MOVE_TIMEOUT,
    handler: moveMedium,
  },
  {
    name: 'READ ELEMENT STATUS',
    opcode: 0xb8,
    cdbLength: 12,
    direction: 'in',
    usage: [0xff, 0x1f, 0xff, 0xff, 0xff, 0xff, 0x03, 0xff, 0xff, 0xff, 0x00, 0x00],
    timeout: MOVE_TIMEOUT,
    allowedUnderWriteExclusive: true,
    handler: readElementStatus,
  },
  {
    name: 'INITIALIZE ELEMENT STATUS WITH RANGE',
    opcode: 0xe7,
    cdbLength: 10,
    direction: 'none',
    usage: [0xff, 0x03, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00],
    timeout: INVENTORY_TIMEOUT,
    handler: initializeElementStatusWithRange,
  },
] as const satisfies readonly SmcCommandSpec[];

export const EXCHANGE_MEDIUM_COMMAND = {
  name: 'EXCHANGE MEDIUM',
  opcode: 0xa6,
  cdbLength: 12,
  direction: 'none',
  usage: [0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xc0],
  timeout: MOVE_TIMEOUT,
  handler: exchangeMedium,
} as const satisfies SmcCommandSpec;

/** The commands of one personality. */
export function smcCommands(model: ChangerModel): readonly SmcCommandSpec[] {
  return model.exchangeMedium ? [...SMC_COMMANDS, EXCHANGE_MEDIUM_COMMAND] : SMC_COMMANDS;
}

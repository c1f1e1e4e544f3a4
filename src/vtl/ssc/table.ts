/**
 * The SSC command table (STYLE.md 1): merged over the SPC core's table by createLogicalUnit, so
 * dispatch, the CDB length and reserved-bit checks (against `usage`), REPORT SUPPORTED
 * OPERATION CODES and log names all come from here. A bit outside `usage` is refused by the
 * dispatcher with INVALID FIELD IN CDB and its byte/bit pointer: that is how WRITE FILEMARKS
 * WSMK, LOAD UNLOAD HOLD, REPORT DENSITY SUPPORT MEDIUM TYPE and PREVENT 1xb are answered.
 *
 * Timeouts feed the RSOC command timeouts descriptor: `timeout` is the nominal processing time,
 * `recommendedTimeout` what a host should allow; the recommended values are IBM's LTO-8 ones as
 * LTFS's ibm_tape.c timeout tables carry them (LTFS sizes its waits by what RSOC reports).
 */
import { SENSE } from '../../target/scsi/sense.js';
import type { CommandSpec } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';
import { withMedium } from './common.js';
import type { SscContext } from './common.js';
import { read6, validateRead6, validateWrite6, write6 } from './read-write.js';
import {
  locate10,
  locate16,
  readPosition,
  rewind,
  space16,
  space6,
  validateLocate10,
  validateLocate16,
  validateReadPosition,
  validateSpace16,
  validateSpace6,
} from './position.js';
import { writeFilemarks6 } from './filemarks.js';
import { loadUnload, preventAllowMediumRemoval } from './load-unload.js';
import { erase6 } from './erase.js';
import { readBlockLimits } from './block-limits.js';
import { reportDensitySupport } from './density.js';
import { formatMedium } from './format.js';
import { readAttribute, writeAttribute } from './mam.js';
import { securityProtocolIn, securityProtocolOut } from './security-protocol.js';

/** TEST UNIT READY (SPC-4): GOOD with a threaded cartridge, else why not (drive.ts). */
function testUnitReady(ctx: SscContext): void {
  ctx.device.requireImage();
}

/**
 * READ ATTRIBUTE (SPC-4 6.17): SERVICE ACTION, LOGICAL VOLUME NUMBER, PARTITION NUMBER, FIRST
 * ATTRIBUTE IDENTIFIER, ALLOCATION LENGTH, CACHE (ignored: the memory is always current). The
 * SMC ELEMENT ADDRESS bytes are outside the mask on a drive.
 */
const READ_ATTRIBUTE_USAGE = [
  0xff, 0x1f, 0x00, 0x00, 0x00, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00,
];

export const SSC_COMMANDS = [
  {
    name: 'TEST UNIT READY',
    opcode: 0x00,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderReservation: true,
    handler: testUnitReady,
  },
  {
    name: 'REWIND',
    opcode: 0x01,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x01, 0x00, 0x00, 0x00, 0x00],
    timeout: 20,
    recommendedTimeout: 600,
    allowedUnderWriteExclusive: true,
    handler: withMedium(rewind),
  },
  {
    name: 'FORMAT MEDIUM',
    opcode: 0x04,
    cdbLength: 6,
    direction: 'none',
    // VERIFY and TRANSFER LENGTH (no format parameters) are outside the mask.
    usage: [0xff, 0x01, 0x0f, 0x00, 0x00, 0x00],
    timeout: 60,
    recommendedTimeout: 3000,
    handler: formatMedium,
  },
  {
    name: 'READ BLOCK LIMITS',
    opcode: 0x05,
    cdbLength: 6,
    direction: 'in',
    usage: [0xff, 0x01, 0x00, 0x00, 0x00, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderReservation: true,
    handler: readBlockLimits,
  },
  {
    name: 'READ(6)',
    opcode: 0x08,
    cdbLength: 6,
    direction: 'in',
    usage: [0xff, 0x03, 0xff, 0xff, 0xff, 0x00],
    timeout: 5,
    recommendedTimeout: 2280,
    allowedUnderWriteExclusive: true,
    handler: withMedium(read6, { validate: validateRead6, mediumError: SENSE.UNRECOVERED_READ_ERROR }),
  },
  {
    name: 'WRITE(6)',
    opcode: 0x0a,
    cdbLength: 6,
    direction: 'out',
    usage: [0xff, 0x01, 0xff, 0xff, 0xff, 0x00],
    timeout: 5,
    recommendedTimeout: 1500,
    handler: withMedium(write6, { validate: validateWrite6, mediumError: SENSE.WRITE_ERROR }),
  },
  {
    name: 'WRITE FILEMARKS(6)',
    opcode: 0x10,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x01, 0xff, 0xff, 0xff, 0x00],
    timeout: 5,
    recommendedTimeout: 1620,
    handler: withMedium(writeFilemarks6, { mediumError: SENSE.WRITE_ERROR }),
  },
  {
    name: 'SPACE(6)',
    opcode: 0x11,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x0f, 0xff, 0xff, 0xff, 0x00],
    timeout: 30,
    recommendedTimeout: 2880,
    allowedUnderWriteExclusive: true,
    handler: withMedium(space6, { validate: validateSpace6 }),
  },
  {
    name: 'ERASE(6)',
    opcode: 0x19,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x03, 0x00, 0x00, 0x00, 0x00],
    timeout: 600,
    recommendedTimeout: 54896,
    handler: withMedium(erase6, { mediumError: SENSE.WRITE_ERROR }),
  },
  {
    name: 'LOAD UNLOAD',
    opcode: 0x1b,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x01, 0x00, 0x00, 0x07, 0x00],
    timeout: 30,
    recommendedTimeout: 960,
    handler: loadUnload,
  },
  {
    name: 'PREVENT ALLOW MEDIUM REMOVAL',
    opcode: 0x1e,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x00, 0x00, 0x00, 0x01, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    handler: preventAllowMediumRemoval,
  },
  {
    name: 'LOCATE(10)',
    opcode: 0x2b,
    cdbLength: 10,
    direction: 'none',
    usage: [0xff, 0x07, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0x00],
    timeout: 30,
    recommendedTimeout: 2880,
    allowedUnderWriteExclusive: true,
    handler: withMedium(locate10, { validate: validateLocate10 }),
  },
  {
    name: 'READ POSITION',
    opcode: 0x34,
    cdbLength: 10,
    direction: 'in',
    usage: [0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: withMedium(readPosition, { validate: validateReadPosition }),
  },
  {
    name: 'REPORT DENSITY SUPPORT',
    opcode: 0x44,
    cdbLength: 10,
    direction: 'in',
    usage: [0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: reportDensitySupport,
  },
  {
    name: 'READ ATTRIBUTE (ATTRIBUTE VALUES)',
    opcode: 0x8c,
    serviceAction: 0x00,
    cdbLength: 16,
    direction: 'in',
    usage: READ_ATTRIBUTE_USAGE,
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: readAttribute,
  },
  {
    name: 'READ ATTRIBUTE (ATTRIBUTE LIST)',
    opcode: 0x8c,
    serviceAction: 0x01,
    cdbLength: 16,
    direction: 'in',
    usage: READ_ATTRIBUTE_USAGE,
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: readAttribute,
  },
  {
    name: 'READ ATTRIBUTE (LOGICAL VOLUME LIST)',
    opcode: 0x8c,
    serviceAction: 0x02,
    cdbLength: 16,
    direction: 'in',
    usage: READ_ATTRIBUTE_USAGE,
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: readAttribute,
  },
  {
    name: 'READ ATTRIBUTE (PARTITION LIST)',
    opcode: 0x8c,
    serviceAction: 0x03,
    cdbLength: 16,
    direction: 'in',
    usage: READ_ATTRIBUTE_USAGE,
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: readAttribute,
  },
  {
    name: 'READ ATTRIBUTE (SUPPORTED ATTRIBUTES)',
    opcode: 0x8c,
    serviceAction: 0x05,
    cdbLength: 16,
    direction: 'in',
    usage: READ_ATTRIBUTE_USAGE,
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: readAttribute,
  },
  {
    name: 'WRITE ATTRIBUTE',
    opcode: 0x8d,
    cdbLength: 16,
    direction: 'out',
    usage: [0xff, 0x01, 0x00, 0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    handler: writeAttribute,
  },
  {
    name: 'SPACE(16)',
    opcode: 0x91,
    cdbLength: 16,
    direction: 'none',
    usage: [0xff, 0x0f, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00],
    timeout: 30,
    recommendedTimeout: 2880,
    allowedUnderWriteExclusive: true,
    handler: withMedium(space16, { validate: validateSpace16 }),
  },
  {
    name: 'LOCATE(16)',
    opcode: 0x92,
    cdbLength: 16,
    direction: 'none',
    usage: [0xff, 0x3b, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00],
    timeout: 30,
    recommendedTimeout: 2880,
    allowedUnderWriteExclusive: true,
    handler: withMedium(locate16, { validate: validateLocate16 }),
  },
  {
    // SPC-4 6.30, SSC-4 8.5: tape data encryption status and capabilities (security-protocol.ts).
    name: 'SECURITY PROTOCOL IN',
    opcode: 0xa2,
    cdbLength: 12,
    direction: 'in',
    usage: [0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    allowedUnderWriteExclusive: true,
    handler: securityProtocolIn,
  },
  {
    // SPC-4 6.31, SSC-4 8.5.3: set data encryption.
    name: 'SECURITY PROTOCOL OUT',
    opcode: 0xb5,
    cdbLength: 12,
    direction: 'out',
    usage: [0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    timeout: 1,
    recommendedTimeout: 60,
    handler: securityProtocolOut,
  },
] as const satisfies readonly CommandSpec<TapeDrive>[];

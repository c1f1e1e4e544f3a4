/**
 * Sense conditions only the tape drive reports, named like the shared catalogue (SENSE in
 * src/target/scsi/sense.ts) so logs and tests use one name per condition.
 */
import { SenseKey } from '../../target/scsi/sense.js';
import type { SenseCode } from '../../target/scsi/sense.js';

const code = (key: number, asc: number, ascq: number, text: string): SenseCode =>
  Object.freeze({ key, asc, ascq, text });

export const SSC_SENSE = {
  /** SSC-4 WORM model: recorded data on a WORM cartridge may not be overwritten. */
  WORM_OVERWRITE_ATTEMPTED: code(SenseKey.DATA_PROTECT, 0x30, 0x0c, 'worm medium - overwrite attempted'),
  /**
   * A write to a cartridge of a generation the drive only reads (an LTO-6 cartridge in an LTO-8
   * drive cannot even be read; an LTO-5 one in an LTO-7 drive is read-only): HP's and IBM's LTO
   * references list 30/05 for "the drive tried to write to a tape of an incompatible generation".
   */
  CANNOT_WRITE_MEDIUM_INCOMPATIBLE_FORMAT: code(
    SenseKey.DATA_PROTECT,
    0x30,
    0x05,
    'cannot write medium - incompatible format',
  ),
  /** SPC-4 WRITE ATTRIBUTE: the medium auxiliary memory has no room for the attributes. */
  AUXILIARY_MEMORY_OUT_OF_SPACE: code(SenseKey.ILLEGAL_REQUEST, 0x55, 0x06, 'auxiliary memory out of space'),
} as const satisfies Record<string, SenseCode>;

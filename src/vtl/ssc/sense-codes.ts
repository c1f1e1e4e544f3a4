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
} as const satisfies Record<string, SenseCode>;

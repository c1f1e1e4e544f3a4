/**
 * Sense conditions only the medium changer reports (SPC-4 annex D ASC/ASCQ assignments, SMC-3
 * MOVE MEDIUM / READ ELEMENT STATUS), named like the shared catalogue (SENSE in
 * src/target/scsi/sense.ts) so logs and tests use one name per condition.
 */
import { SenseKey } from '../../target/scsi/sense.js';
import type { SenseCode } from '../../target/scsi/sense.js';

const code = (key: number, asc: number, ascq: number, text: string): SenseCode =>
  Object.freeze({ key, asc, ascq, text });

export const SMC_SENSE = {
  /** An element address the library does not have (MOVE MEDIUM, POSITION TO ELEMENT, ...). */
  INVALID_ELEMENT_ADDRESS: code(SenseKey.ILLEGAL_REQUEST, 0x21, 0x01, 'invalid element address'),
  /** MOVE MEDIUM into an element that holds a cartridge (mtx: "destination full"). */
  MEDIUM_DESTINATION_ELEMENT_FULL: code(
    SenseKey.ILLEGAL_REQUEST,
    0x3b,
    0x0d,
    'medium destination element full',
  ),
  /** MOVE MEDIUM from an element that holds none (mtx: "source empty"). */
  MEDIUM_SOURCE_ELEMENT_EMPTY: code(SenseKey.ILLEGAL_REQUEST, 0x3b, 0x0e, 'medium source element empty'),
  /** The drive would not take the cartridge (its image cannot be opened). */
  MEDIA_LOAD_OR_EJECT_FAILED: code(SenseKey.HARDWARE_ERROR, 0x53, 0x00, 'media load or eject failed'),
} as const satisfies Record<string, SenseCode>;

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
  // SSC-4 tape data encryption (ASC 74h, SPC-4 annex D): READ of a block the current decryption
  // parameters cannot turn into plaintext. The head stays on the BOP side of the block, so the
  // host may set the right key and read it again.
  /** Encrypted block, decryption mode DISABLE (no key: e.g. after a reset or a restart). */
  UNABLE_TO_DECRYPT_DATA: code(SenseKey.DATA_PROTECT, 0x74, 0x01, 'unable to decrypt data'),
  /** Unencrypted block, decryption mode DECRYPT or RAW (MIXED reads it). */
  UNENCRYPTED_DATA_ENCOUNTERED_WHILE_DECRYPTING: code(
    SenseKey.DATA_PROTECT,
    0x74,
    0x02,
    'unencrypted data encountered while decrypting',
  ),
  /** Encrypted block whose key id differs from the key set by SECURITY PROTOCOL OUT. */
  INCORRECT_DATA_ENCRYPTION_KEY: code(SenseKey.DATA_PROTECT, 0x74, 0x03, 'incorrect data encryption key'),
  /** The key matches but AES-GCM authentication fails (the block or its position was altered). */
  CRYPTOGRAPHIC_INTEGRITY_VALIDATION_FAILED: code(
    SenseKey.DATA_PROTECT,
    0x74,
    0x04,
    'cryptographic integrity validation failed',
  ),
  /** Decryption mode RAW on an encrypted block: this drive never allows raw reads (RDMC_C 1). */
  ENCRYPTED_BLOCK_NOT_RAW_READ_ENABLED: code(
    SenseKey.DATA_PROTECT,
    0x74,
    0x0a,
    'encrypted block not raw read enabled',
  ),
  /**
   * Logical block protection (SSC-4): the CRC32C a host appended to a block (LBP_W) does not
   * match the data. HARDWARE ERROR is the key IBM LTO drives report (LTFS vendor_compat.c maps
   * 04/10/01 to its LBP write error).
   */
  LOGICAL_BLOCK_GUARD_CHECK_FAILED: code(
    SenseKey.HARDWARE_ERROR,
    0x10,
    0x01,
    'logical block guard check failed',
  ),
} as const satisfies Record<string, SenseCode>;

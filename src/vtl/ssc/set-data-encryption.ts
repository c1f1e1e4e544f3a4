/**
 * The Set Data Encryption page of SECURITY PROTOCOL OUT (SSC-4 8.5.3.2), decoded and checked
 * against what this drive reports it can do (security-protocol.ts, page 0010h/0012h) before
 * anything changes. Every refusal names the byte (and bit) at fault in the parameter list.
 *
 *   bytes 0-1  PAGE CODE 0010h          byte 8      ALGORITHM INDEX
 *   bytes 2-3  PAGE LENGTH              byte 9      KEY FORMAT (00h plain-text key)
 *   byte 4     SCOPE (7-5), LOCK (0)    byte 10     KAD FORMAT
 *   byte 5     CEEM (7-6), RDMC (5-4),  bytes 11-17 reserved
 *              SDK (3), CKOD (2),       bytes 18-19 KEY LENGTH
 *              CKORP (1), CKORL (0)     20..        KEY, then KAD descriptors
 *   byte 6     ENCRYPTION MODE                      (type, reserved, length, descriptor)
 *   byte 7     DECRYPTION MODE
 */
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import {
  AES_256_GCM,
  DecryptionMode,
  EncryptionMode,
  KadType,
  MAX_KAD_FORMAT,
  Scope,
  type SetDataEncryption,
} from './encryption.js';

const HEADER = 20;
const At = {
  pageCode: 0,
  pageLength: 2,
  scope: 4,
  control: 5,
  encryptionMode: 6,
  decryptionMode: 7,
  algorithmIndex: 8,
  keyFormat: 9,
  kadFormat: 10,
  keyLength: 18,
  key: 20,
} as const;
/** RDMC: 00b algorithm default, 10b enable raw reads, 11b disable raw reads. */
const RDMC_DISABLE = 0b11;

function invalid(byte: number, bit?: number): SenseError {
  return new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, {
    inParameterList: true,
    fieldPointer: byte,
    ...(bit === undefined ? {} : { bitPointer: bit }),
  });
}

export function parseSetDataEncryption(list: Buffer, drive: { mounted: boolean }): SetDataEncryption {
  if (list.length < HEADER) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
  const r = new ByteReader(list);
  if (r.seek(At.pageCode).u16() !== 0x0010) throw invalid(At.pageCode);
  const end = 4 + r.u16();
  if (end < HEADER) throw invalid(At.pageLength);
  if (end > list.length) throw new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);

  const b4 = r.seek(At.scope).u8();
  const scope = b4 >> 5;
  if (scope > Scope.ALL_I_T_NEXUS) throw invalid(At.scope, 7);
  // LOCK_C is 0 (page 0012h): no I_T nexus can lock the parameters.
  if (b4 & 0x01) throw invalid(At.scope, 0);
  const b5 = r.u8();
  const ceem = b5 >> 6;
  // EEMC_C 01b: external encryption mode is never checked; only 00b (vendor) and 01b (no check).
  if (ceem > 1) throw invalid(At.control, 7);
  const rdmc = (b5 >> 4) & 0b11;
  // RDMC_C 001b: raw reads cannot be enabled; "disable" and "default" say what is already so.
  if (rdmc !== 0 && rdmc !== RDMC_DISABLE) throw invalid(At.control, 5);
  if (b5 & 0x08) throw invalid(At.control, 3); // SDK_C 0: no supplemental decryption keys
  if (b5 & 0x02) throw invalid(At.control, 1); // CKORP_C 0
  if (b5 & 0x01) throw invalid(At.control, 0); // CKORL_C 0
  const ckod = (b5 & 0x04) !== 0;

  const encryptionMode = r.u8();
  // EXTERNAL needs external data encryption control, which EXTDECC 01b says is absent.
  if (encryptionMode !== EncryptionMode.DISABLE && encryptionMode !== EncryptionMode.ENCRYPT)
    throw invalid(At.encryptionMode);
  const decryptionMode = r.u8();
  if (decryptionMode > DecryptionMode.MIXED) throw invalid(At.decryptionMode);
  const algorithmIndex = r.u8();
  const keyFormat = r.u8();
  const kadFormat = r.u8();
  const keyLength = r.seek(At.keyLength).u16();
  const active = encryptionMode !== EncryptionMode.DISABLE || decryptionMode !== DecryptionMode.DISABLE;
  if (active && algorithmIndex !== AES_256_GCM.index) throw invalid(At.algorithmIndex);
  if (active && keyFormat !== 0x00) throw invalid(At.keyFormat);
  if (kadFormat > MAX_KAD_FORMAT) throw invalid(At.kadFormat);
  const needsKey =
    encryptionMode === EncryptionMode.ENCRYPT ||
    decryptionMode === DecryptionMode.DECRYPT ||
    decryptionMode === DecryptionMode.MIXED;
  if (At.key + keyLength > end) throw invalid(At.keyLength);
  if (needsKey ? keyLength !== AES_256_GCM.keyLength : keyLength !== 0 && keyLength !== AES_256_GCM.keyLength)
    throw invalid(At.keyLength);
  // CKOD ties the key to the mounted volume: without one there is nothing to demount.
  if (ckod && !drive.mounted && scope !== Scope.PUBLIC) throw new SenseError(SENSE.MEDIUM_NOT_PRESENT);

  const kads = parseKads(list, At.key + keyLength, end);
  return {
    scope,
    ceem,
    ckod,
    encryptionMode,
    decryptionMode,
    algorithmIndex,
    kadFormat,
    // Copies: the caller wipes the parameter list.
    key: needsKey ? Buffer.from(list.subarray(At.key, At.key + keyLength)) : null,
    ukad: kads.get(KadType.UKAD) ?? null,
    akad: kads.get(KadType.AKAD) ?? null,
  };
}

/** KAD descriptors: U-KAD up to 32 bytes, A-KAD up to 12, one of each; nonces are the drive's own. */
function parseKads(list: Buffer, from: number, end: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const r = new ByteReader(list);
  for (let off = from; off < end;) {
    if (off + 4 > end) throw invalid(off);
    const type = r.seek(off).u8();
    const length = r.skip(1).u16();
    if (off + 4 + length > end) throw invalid(off + 2);
    const max =
      type === KadType.UKAD
        ? AES_256_GCM.maxUkadLength
        : type === KadType.AKAD
          ? AES_256_GCM.maxAkadLength
          : -1;
    // NONCE_C 01b: the drive generates every nonce; M-KAD and other types are not supported.
    if (max < 0 || out.has(type)) throw invalid(off);
    if (length > max) throw invalid(off + 2);
    out.set(type, Buffer.from(list.subarray(off + 4, off + 4 + length)));
    off += 4 + length;
  }
  return out;
}

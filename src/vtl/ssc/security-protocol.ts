/**
 * SECURITY PROTOCOL IN (A2h) and SECURITY PROTOCOL OUT (B5h) (SPC-4 6.30/6.31) on the tape
 * drive: security protocol 00h (security protocol information, SPC-4 7.7.1) and 20h, tape data
 * encryption (SSC-4 8.5). The pages are tables; the parameters they report and set live in
 * encryption.ts. What PBS and stenc read is in clients.md 2 "Encryption": PBS walks the 0010h
 * algorithm descriptors to the end of the data (so the page is exactly its length), picks
 * ENCRYPT_C=2, DECRYPT_C=2, 00010014h, key size 32, and accepts only the status-page mode pairs
 * (0,0), (2,1), (2,2), (2,3).
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult, Nexus } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import { RecordFlag } from '../image/record.js';
import type { TapeDrive } from './drive.js';
import { withMedium } from './common.js';
import type { SscContext } from './common.js';
import { mediaAccess } from './models.js';
import {
  AES_256_GCM,
  DecryptionMode,
  EncryptionMode,
  KadType,
  MAX_KAD_FORMAT,
  Scope,
  ENCRYPTED_BLOCKS_KEY,
  openEnvelope,
  unsealBlock,
  type SetDataEncryption,
} from './encryption.js';
import { parseSetDataEncryption } from './set-data-encryption.js';

export const SecurityProtocol = { INFORMATION: 0x00, TAPE_DATA_ENCRYPTION: 0x20 } as const;
const INC_512 = 0x80;

interface SecurityCdb {
  readonly protocol: number;
  readonly page: number;
  readonly length: number;
}

/** SPC-4 6.30: SECURITY PROTOCOL, SPECIFIC (the page), INC_512, ALLOCATION/TRANSFER LENGTH. */
function decodeCdb(cdb: Buffer): SecurityCdb {
  const r = new ByteReader(cdb, 1);
  const protocol = r.u8();
  const page = r.u16();
  // SSC-4 8.5.1: lengths are in bytes on a tape drive; INC_512 must be zero.
  if (r.u8() & INC_512) throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 4, bitPointer: 7 });
  return { protocol, page, length: r.skip(1).u32() };
}

interface SpinPage {
  readonly protocol: number;
  readonly page: number;
  readonly name: string;
  /** Page bytes (header included); `null` means the command needs the medium (withMedium). */
  readonly encode: ((drive: TapeDrive, nexus: Nexus) => Buffer) | null;
}

/** A TDE page: 2-byte page code, 2-byte page length, body (SSC-4 8.5.2). */
function tdePage(page: number, body: Buffer): Buffer {
  const w = new ByteWriter(4 + body.length);
  return w.u16(page).u16(body.length).bytes(body).buf;
}

/** SPC-4 7.7.1.3: 6 reserved bytes, list length, then one byte per protocol. */
function supportedProtocols(): Buffer {
  const list = [SecurityProtocol.INFORMATION, SecurityProtocol.TAPE_DATA_ENCRYPTION];
  const w = new ByteWriter(8 + list.length);
  w.seek(6).u16(list.length);
  for (const p of list) w.u8(p);
  return w.buf;
}

/** SPC-4 7.7.1.4: no certificate, so CERTIFICATE LENGTH 0. */
const certificateData = (): Buffer => Buffer.alloc(4);

function pageList(page: number, codes: readonly number[]): Buffer {
  const w = new ByteWriter(2 * codes.length);
  for (const c of codes) w.u16(c);
  return tdePage(page, w.buf);
}

/** A volume is mounted that this drive can encrypt (AVFMV, AVFCP). */
function mountedForEncryption(drive: TapeDrive): boolean {
  const image = drive.image;
  return (
    image !== null &&
    image.meta.mediaType !== 'CLEANING' &&
    mediaAccess(drive.model, image.meta.mediaType) !== 'incompatible'
  );
}

/**
 * Data Encryption Capabilities (SSC-4, page 0010h): EXTDECC 01b (no external data encryption
 * control), CFG_P 01b (SECURITY PROTOCOL OUT may configure), then one 24-byte descriptor:
 * AES-256-GCM at index 1. Byte 4: AVFMV, MAC_C (GCM authenticates), DELB_C (encrypted blocks
 * are told from clear ones), DECRYPT_C 10b and ENCRYPT_C 10b (in hardware). Byte 5: AVFCP 01b
 * (valid at the current position) when mounted, NONCE_C 01b (the drive makes nonces), KADF_C,
 * VCELB_C. U-KAD up to 32 and A-KAD up to 12 bytes, key 32. Byte 12: DKAD_C 11b (KAD allowed,
 * not required), EEMC_C 01b (no external encryption mode control), RDMC_C 001b (raw
 * decryption never allowed), EAREM 0.
 */
function capabilities(drive: TapeDrive): Buffer {
  const mounted = mountedForEncryption(drive);
  const w = new ByteWriter(16 + 24);
  w.u8((0b01 << 2) | 0b01).skip(15);
  w.u8(AES_256_GCM.index).u8(0).u16(0x14);
  w.u8((mounted ? 0x80 : 0) | 0x20 | 0x10 | (0b10 << 2) | 0b10);
  w.u8((mounted ? 0b01 << 6 : 0) | (0b01 << 4) | 0x08 | 0x04);
  w.u16(AES_256_GCM.maxUkadLength).u16(AES_256_GCM.maxAkadLength).u16(AES_256_GCM.keyLength);
  w.u8((0b11 << 6) | (0b01 << 4) | (0b001 << 1)).u8(0);
  w.u16(0).u16(0).u16(0);
  w.u32(AES_256_GCM.securityAlgorithmCode);
  return tdePage(0x0010, w.buf);
}

/** Supported Key Formats (SSC-4, page 0011h): plain-text key (00h) only. */
const keyFormats = (): Buffer => tdePage(0x0011, Buffer.of(0x00));

/**
 * Data Encryption Management Capabilities (SSC-4, page 0012h): LOCK_C 0; CKOD_C 1, CKORP_C 0,
 * CKORL_C 0; scopes ALL I_T NEXUS, LOCAL and PUBLIC (AITN_C, LOCAL_C, PUBLIC_C).
 */
function managementCapabilities(): Buffer {
  const w = new ByteWriter(12);
  w.u8(0).u8(0x04).u8(0).u8(0x07);
  return tdePage(0x0012, w.buf);
}

/** KAD descriptors (SSC-4): type, AUTHENTICATED (bits 2-0), length, the descriptor. */
function kadDescriptors(kads: { type: number; authenticated: number; value: Buffer | null }[]): Buffer {
  const parts = kads.filter((k) => k.value !== null && k.value.length > 0);
  const w = new ByteWriter(parts.reduce((n, k) => n + 4 + k.value!.length, 0));
  for (const k of parts) w.u8(k.type).u8(k.authenticated).u16(k.value!.length).bytes(k.value!);
  return w.buf;
}

/**
 * Volume contains encrypted logical blocks: noted on the first encrypted write (data-path.ts),
 * forgotten once the current partition is empty again (an erase or format from BOP).
 */
function volumeHasEncryptedBlocks(image: TapeImage | null): boolean {
  return image !== null && image.meta.attributes[ENCRYPTED_BLOCKS_KEY] === '1' && image.objectCount > 0;
}

/**
 * Data Encryption Status (SSC-4, page 0020h) as `nexus` sees it: I_T NEXUS SCOPE and KEY SCOPE,
 * the modes, algorithm index, KEY INSTANCE COUNTER, PARAMETERS CONTROL 001b (set by SECURITY
 * PROTOCOL OUT), VCELB, CEEMS, RDMD (raw decryption is disabled on this drive), KAD FORMAT,
 * ASDK COUNT 0, then the U-KAD and A-KAD of the parameters.
 */
function status(drive: TapeDrive, nexus: Nexus): Buffer {
  const p = drive.dataPath.encryption.paramsFor(nexus);
  const head = new ByteWriter(20);
  head.u8((drive.dataPath.encryption.nexusScope(nexus) << 5) | (p?.scope ?? Scope.PUBLIC));
  head.u8(p?.encryptionMode ?? EncryptionMode.DISABLE).u8(p?.decryptionMode ?? DecryptionMode.DISABLE);
  head.u8(p ? p.algorithmIndex : 0).u32(p?.keyInstanceCounter ?? 0);
  const vcelb = volumeHasEncryptedBlocks(drive.image) ? 0x08 : 0;
  head.u8((0b001 << 4) | vcelb | ((p?.ceem ?? 0) << 1) | (p ? 0x01 : 0)).u8(p?.kadFormat ?? 0);
  head.u16(0).skip(8);
  const kads = kadDescriptors([
    { type: KadType.UKAD, authenticated: 0, value: p?.ukad ?? null },
    { type: KadType.AKAD, authenticated: 0, value: p?.akad ?? null },
  ]);
  return tdePage(0x0020, Buffer.concat([head.buf, kads]));
}

/** ENCRYPTION STATUS / COMPRESSION STATUS codes of the next block encryption status page. */
const NextBlock = {
  NOT_A_BLOCK: 2,
  NOT_ENCRYPTED: 3,
  UNSUPPORTED_ALGORITHM: 4,
  DECRYPTABLE: 5,
  NO_KEY: 6,
} as const;
const Compression = { NOT_A_BLOCK: 2, NOT_COMPRESSED: 3, COMPRESSED: 4 } as const;
/** AUTHENTICATED field of a KAD descriptor: not checked, checked and valid, check failed. */
const Authenticated = { NOT_CHECKED: 1, VALID: 2, FAILED: 3 } as const;

/**
 * Next Block Encryption Status (SSC-4, page 0021h) for the logical object at the head, which
 * is read and the head put back: LOGICAL OBJECT NUMBER, COMPRESSION STATUS and ENCRYPTION
 * STATUS, ALGORITHM INDEX, EMES 0, RDMDS, KAD FORMAT, and the block's U-KAD and A-KAD (the
 * A-KAD marked authenticated when the current key opens the block). stenc prints it.
 */
async function nextBlockStatus(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  const q = decodeCdb(ctx.cdb);
  const drive = ctx.device;
  const at = image.position();
  const r = await image.read();
  await image.locate(at.objectNumber);
  const w = new ByteWriter(12);
  w.u64(at.objectNumber);
  let kads: Buffer = Buffer.alloc(0);
  if (r.kind !== 'data') {
    w.u8((Compression.NOT_A_BLOCK << 4) | NextBlock.NOT_A_BLOCK)
      .u8(0)
      .u8(0)
      .u8(0);
  } else {
    const flags = r.flags ?? 0;
    const compression = flags & RecordFlag.compressed ? Compression.COMPRESSED : Compression.NOT_COMPRESSED;
    if (!(flags & RecordFlag.encrypted)) {
      w.u8((compression << 4) | NextBlock.NOT_ENCRYPTED)
        .u8(0)
        .u8(0)
        .u8(0);
    } else {
      const env = openEnvelope(r.data);
      const p = drive.dataPath.encryption.paramsFor(ctx.nexus);
      const canDecrypt =
        p !== null &&
        (p.decryptionMode === DecryptionMode.DECRYPT || p.decryptionMode === DecryptionMode.MIXED);
      const opened = canDecrypt
        ? unsealBlock(p, env, r.keyId ?? 0, flags, { partition: at.partition, objectNumber: at.objectNumber })
        : null;
      const state =
        env.algorithmIndex !== AES_256_GCM.index
          ? NextBlock.UNSUPPORTED_ALGORITHM
          : Buffer.isBuffer(opened)
            ? NextBlock.DECRYPTABLE
            : NextBlock.NO_KEY;
      w.u8((compression << 4) | state)
        .u8(env.algorithmIndex)
        .u8(0x01)
        .u8(env.kadFormat <= MAX_KAD_FORMAT ? env.kadFormat : 0);
      const akadState =
        opened === null
          ? Authenticated.NOT_CHECKED
          : Buffer.isBuffer(opened)
            ? Authenticated.VALID
            : Authenticated.FAILED;
      kads = kadDescriptors([
        { type: KadType.UKAD, authenticated: Authenticated.NOT_CHECKED, value: env.ukad },
        { type: KadType.AKAD, authenticated: akadState, value: env.akad },
      ]);
    }
  }
  return cut(tdePage(0x0021, Buffer.concat([w.buf, kads])), q.length);
}

const SPIN_PAGES: readonly SpinPage[] = [
  { protocol: 0x00, page: 0x0000, name: 'Supported Security Protocols', encode: supportedProtocols },
  { protocol: 0x00, page: 0x0001, name: 'Certificate Data', encode: certificateData },
  {
    protocol: 0x20,
    page: 0x0000,
    name: 'Tape Data Encryption In Support',
    encode: () => pageList(0x0000, [0x0000, 0x0001, 0x0010, 0x0011, 0x0012, 0x0020, 0x0021]),
  },
  {
    protocol: 0x20,
    page: 0x0001,
    name: 'Tape Data Encryption Out Support',
    encode: () => pageList(0x0001, [0x0010]),
  },
  { protocol: 0x20, page: 0x0010, name: 'Data Encryption Capabilities', encode: capabilities },
  { protocol: 0x20, page: 0x0011, name: 'Supported Key Formats', encode: keyFormats },
  {
    protocol: 0x20,
    page: 0x0012,
    name: 'Data Encryption Management Capabilities',
    encode: managementCapabilities,
  },
  { protocol: 0x20, page: 0x0020, name: 'Data Encryption Status', encode: status },
  { protocol: 0x20, page: 0x0021, name: 'Next Block Encryption Status', encode: null },
];

const cut = (page: Buffer, allocation: number): Buffer =>
  page.length > allocation ? page.subarray(0, allocation) : page;

const nextBlockOnMedium = withMedium(nextBlockStatus);

function findSpinPage(ctx: SscContext): SpinPage {
  const q = decodeCdb(ctx.cdb);
  if (q.protocol !== SecurityProtocol.INFORMATION && q.protocol !== SecurityProtocol.TAPE_DATA_ENCRYPTION)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1 });
  const spec = SPIN_PAGES.find((p) => p.protocol === q.protocol && p.page === q.page);
  if (!spec) throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2 });
  return spec;
}

/** SECURITY PROTOCOL IN: the page, cut to the ALLOCATION LENGTH (pages other than 0021h need no medium). */
export function securityProtocolIn(ctx: SscContext): HandlerResult | Promise<HandlerResult> {
  const spec = findSpinPage(ctx);
  if (spec.encode === null) return nextBlockOnMedium(ctx);
  return cut(spec.encode(ctx.device, ctx.nexus), decodeCdb(ctx.cdb).length);
}

/**
 * SECURITY PROTOCOL OUT: protocol 20h page 0010h (set data encryption) only. The page is
 * checked whole before anything changes (set-data-encryption.ts); the key bytes are wiped
 * from the parameter list once copied into the key object.
 */
export function securityProtocolOut(ctx: SscContext): Promise<HandlerResult> {
  const q = decodeCdb(ctx.cdb);
  if (q.protocol !== SecurityProtocol.TAPE_DATA_ENCRYPTION)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1 });
  if (q.page !== 0x0010) throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2 });
  const drive = ctx.device;
  return drive.exclusive(() => {
    const list = (ctx.task.dataOut ?? Buffer.alloc(0)).subarray(0, q.length);
    let page: SetDataEncryption;
    try {
      page = parseSetDataEncryption(list, { mounted: drive.image !== null });
      drive.dataPath.encryption.apply(ctx.nexus, page);
    } finally {
      list.fill(0);
    }
    if (page.key) page.key.fill(0);
  });
}

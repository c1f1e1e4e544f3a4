/**
 * Tape data encryption (SSC-4 4.2.24 and 8.5, security protocol 20h): the sets of data encryption
 * parameters SECURITY PROTOCOL OUT establishes, and the AES-256-GCM envelope a block is recorded
 * in. Keys live only here, in memory: they are never written to the image (a record carries the
 * encrypted flag, a 32-bit key fingerprint and the envelope below) and they are dropped on a
 * logical unit reset, on I_T nexus loss for LOCAL parameters, and on demount when CKOD was set
 * (SSC-4 "managing keys within the device server").
 *
 * Envelope (the record payload of an encrypted block; compression, when any, ran before):
 *
 *   offset  size  field
 *        0     1  envelope version (1)
 *        1     1  ALGORITHM INDEX the block was written with
 *        2     1  KAD FORMAT
 *        3     1  reserved (0)
 *        4     2  U-KAD length u
 *        6     2  A-KAD length a
 *        8    12  nonce (random per block)
 *       20     u  U-KAD (unauthenticated key-associated data, e.g. a key name)
 *     20+u     a  A-KAD (authenticated key-associated data)
 *   20+u+a     n  ciphertext
 *          last 16 GCM tag
 *
 * The additional authenticated data binds bytes 0..19, the A-KAD, the record flags and the
 * block's place (partition, logical object number): a block copied elsewhere on the tape, or an
 * altered A-KAD, fails authentication. The U-KAD is not authenticated, as its name says.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomFillSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { VtlError } from '../../util/errors.js';
import type { SenseCode } from '../../target/scsi/sense.js';
import type { Nexus } from '../../target/scsi/types.js';
import { RecordFlag } from '../image/record.js';
import { SSC_SENSE } from './sense-codes.js';

export const EncryptionMode = { DISABLE: 0, EXTERNAL: 1, ENCRYPT: 2 } as const;
export const DecryptionMode = { DISABLE: 0, RAW: 1, DECRYPT: 2, MIXED: 3 } as const;
/** SCOPE / I_T NEXUS SCOPE / KEY SCOPE values (SSC-4 set data encryption page). */
export const Scope = { PUBLIC: 0, LOCAL: 1, ALL_I_T_NEXUS: 2 } as const;
/** KEY DESCRIPTOR TYPE of a key-associated data descriptor. */
export const KadType = { UKAD: 0, AKAD: 1, NONCE: 2, MKAD: 3 } as const;
/** KAD FORMAT: unspecified, binary key name, ASCII key name. */
export const MAX_KAD_FORMAT = 2;

/**
 * The one algorithm this drive offers, as IBM and HPE LTO drives report it (stenc and PBS look
 * for security algorithm code 00010014h, AES-256-GCM with a 128-bit tag, key size 32).
 */
export const AES_256_GCM = {
  index: 1,
  securityAlgorithmCode: 0x0001_0014,
  keyLength: 32,
  maxUkadLength: 32,
  maxAkadLength: 12,
} as const;

/** cartridge.json attribute (not a MAM one: not four hex digits): the volume holds encrypted blocks. */
export const ENCRYPTED_BLOCKS_KEY = 'vtl.encryptedBlocks';

const ENVELOPE_VERSION = 1;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const ENVELOPE_HEADER = 20;
const EnvelopeOffset = {
  version: 0,
  algorithm: 1,
  kadFormat: 2,
  ukadLength: 4,
  akadLength: 6,
  nonce: 8,
} as const;

/** One set of data encryption parameters (SSC-4 list a..r, the parts this drive supports). */
export interface EncryptionParameters {
  /** LOCAL or ALL I_T NEXUS: how the set was established (the KEY SCOPE the status page shows). */
  readonly scope: number;
  readonly encryptionMode: number;
  readonly decryptionMode: number;
  readonly algorithmIndex: number;
  /** The key as a KeyObject (node:crypto keeps it off the JS heap); null when none was given. */
  readonly key: KeyObject | null;
  /** 32-bit fingerprint recorded in each block header, so a wrong key is told from tampering. */
  readonly keyId: number;
  readonly kadFormat: number;
  readonly ukad: Buffer | null;
  readonly akad: Buffer | null;
  /** CKOD: clear the parameters when the volume is demounted. */
  readonly ckod: boolean;
  /** CEEM as set (0 or 1: this drive does not check external encryption mode). */
  readonly ceem: number;
  readonly keyInstanceCounter: number;
}

/** A SECURITY PROTOCOL OUT set data encryption page, validated (security-protocol.ts). */
export interface SetDataEncryption {
  readonly scope: number;
  readonly ceem: number;
  readonly ckod: boolean;
  readonly encryptionMode: number;
  readonly decryptionMode: number;
  readonly algorithmIndex: number;
  readonly kadFormat: number;
  readonly key: Buffer | null;
  readonly ukad: Buffer | null;
  readonly akad: Buffer | null;
}

/** Key fingerprint for the record header: 4 bytes of a domain-separated SHA-256, never 0. */
export function keyFingerprint(key: Buffer): number {
  const h = createHash('sha256').update('iscsi-vtl tape data encryption key id\0').update(key).digest();
  return h.readUInt32BE(0) || 1;
}

/**
 * The drive's data encryption parameters: one public set (established with scope ALL I_T
 * NEXUS, used by every I_T nexus whose scope is PUBLIC) and LOCAL sets per I_T nexus.
 */
export class EncryptionState {
  private publicSet: EncryptionParameters | null = null;
  private readonly localSets = new Map<string, EncryptionParameters>();
  /** KEY INSTANCE COUNTER: counts every set established, so a host can tell a key change. */
  private counter = 0;

  /** The parameters that govern `nexus`'s reads and writes (null: DISABLE/DISABLE). */
  paramsFor(nexus: Nexus): EncryptionParameters | null {
    return this.localSets.get(nexus.key) ?? this.publicSet;
  }

  /** I_T NEXUS SCOPE of the status page: LOCAL when the nexus has its own set. */
  nexusScope(nexus: Nexus): number {
    return this.localSets.has(nexus.key) ? Scope.LOCAL : Scope.PUBLIC;
  }

  /** True while any set holds a key (the DT device status and TapeAlert reporting use it). */
  get active(): boolean {
    return this.publicSet !== null || this.localSets.size > 0;
  }

  /**
   * Applies a set data encryption page from `nexus`. PUBLIC: the nexus drops its LOCAL set and
   * uses the public one (the other fields are not used); LOCAL: a set for this nexus only; ALL
   * I_T NEXUS: the public set, which every nexus without a LOCAL set uses. Both modes DISABLE
   * releases the set (no key is kept for nothing).
   */
  apply(nexus: Nexus, page: SetDataEncryption): void {
    if (page.scope === Scope.PUBLIC) {
      this.localSets.delete(nexus.key);
      return;
    }
    const disabled =
      page.encryptionMode === EncryptionMode.DISABLE && page.decryptionMode === DecryptionMode.DISABLE;
    const params: EncryptionParameters | null = disabled
      ? null
      : {
          scope: page.scope,
          encryptionMode: page.encryptionMode,
          decryptionMode: page.decryptionMode,
          algorithmIndex: page.algorithmIndex,
          key: page.key ? createSecretKey(page.key) : null,
          keyId: page.key ? keyFingerprint(page.key) : 0,
          kadFormat: page.kadFormat,
          ukad: page.encryptionMode === EncryptionMode.ENCRYPT ? page.ukad : null,
          akad: page.encryptionMode === EncryptionMode.ENCRYPT ? page.akad : null,
          ckod: page.ckod,
          ceem: page.ceem,
          keyInstanceCounter: ++this.counter >>> 0,
        };
    if (page.scope === Scope.LOCAL) {
      if (params) this.localSets.set(nexus.key, params);
      else this.localSets.delete(nexus.key);
    } else {
      this.publicSet = params;
    }
  }

  /** LOGICAL UNIT RESET, TARGET RESET, power on: every set goes (SSC-4 4.2.24). */
  clearAll(): void {
    this.publicSet = null;
    this.localSets.clear();
  }

  /** I_T nexus loss releases that nexus's LOCAL set; the public set stays (its scope says so). */
  nexusLost(nexus: Nexus): void {
    this.localSets.delete(nexus.key);
  }

  /** The volume was demounted: sets established with CKOD=1 are released. */
  demounted(): void {
    if (this.publicSet?.ckod) this.publicSet = null;
    for (const [k, p] of this.localSets) if (p.ckod) this.localSets.delete(k);
  }
}

/** Where a block sits: bound into the AAD so a moved block does not decrypt. */
export interface BlockPlace {
  readonly partition: number;
  readonly objectNumber: number;
}

/** The AAD; of the record flags only `compressed` is bound (`encrypted` is set after sealing). */
function aad(header: Buffer, akad: Buffer, flags: number, place: BlockPlace): Buffer {
  const w = new ByteWriter(ENVELOPE_HEADER + akad.length + 14);
  w.bytes(header.subarray(0, ENVELOPE_HEADER)).bytes(akad);
  w.u16(flags & RecordFlag.compressed)
    .u32(place.partition)
    .u64(BigInt(place.objectNumber));
  return w.buf;
}

/** Encrypts `plain` (already compressed when `flags` says so) into an envelope. */
export function sealBlock(
  params: EncryptionParameters,
  plain: Buffer,
  flags: number,
  place: BlockPlace,
): Buffer {
  if (!params.key) throw new VtlError('ERR_STATE', 'encryption mode ENCRYPT without a key');
  const ukad = params.ukad ?? EMPTY;
  const akad = params.akad ?? EMPTY;
  const bodyAt = ENVELOPE_HEADER + ukad.length + akad.length;
  const out = Buffer.allocUnsafe(bodyAt + plain.length + TAG_LENGTH);
  const w = new ByteWriter(out);
  w.seek(EnvelopeOffset.version).u8(ENVELOPE_VERSION).u8(params.algorithmIndex).u8(params.kadFormat).u8(0);
  w.seek(EnvelopeOffset.ukadLength).u16(ukad.length).u16(akad.length);
  randomFillSync(out, EnvelopeOffset.nonce, NONCE_LENGTH);
  ukad.copy(out, ENVELOPE_HEADER);
  akad.copy(out, ENVELOPE_HEADER + ukad.length);
  const nonce = out.subarray(EnvelopeOffset.nonce, EnvelopeOffset.nonce + NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', params.key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad(out, akad, flags, place));
  let at = bodyAt;
  at += cipher.update(plain).copy(out, at);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/** The cleartext parts of an envelope (what next block encryption status reports). */
export interface Envelope {
  readonly algorithmIndex: number;
  readonly kadFormat: number;
  readonly ukad: Buffer;
  readonly akad: Buffer;
  readonly nonce: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
  readonly header: Buffer;
}

/** Parses an envelope; ERR_IMAGE (a damaged record, MEDIUM ERROR to the host) when malformed. */
export function openEnvelope(payload: Buffer): Envelope {
  const bad = (why: string): never => {
    throw new VtlError('ERR_IMAGE', `encrypted block: ${why}`);
  };
  if (payload.length < ENVELOPE_HEADER + TAG_LENGTH) bad(`${payload.length} bytes is too short`);
  const r = new ByteReader(payload);
  if (r.seek(EnvelopeOffset.version).u8() !== ENVELOPE_VERSION) bad('unknown envelope version');
  const algorithmIndex = r.u8();
  const kadFormat = r.u8();
  const u = r.seek(EnvelopeOffset.ukadLength).u16();
  const a = r.u16();
  const bodyAt = ENVELOPE_HEADER + u + a;
  if (bodyAt + TAG_LENGTH > payload.length) bad('key-associated data runs past the block');
  return {
    algorithmIndex,
    kadFormat,
    ukad: payload.subarray(ENVELOPE_HEADER, ENVELOPE_HEADER + u),
    akad: payload.subarray(ENVELOPE_HEADER + u, bodyAt),
    nonce: payload.subarray(EnvelopeOffset.nonce, EnvelopeOffset.nonce + NONCE_LENGTH),
    body: payload.subarray(bodyAt, payload.length - TAG_LENGTH),
    tag: payload.subarray(payload.length - TAG_LENGTH),
    header: payload,
  };
}

/**
 * Decrypts an envelope with `params` (decryption mode DECRYPT or MIXED): the plaintext, or the
 * SSC-4 condition why not — another key (74/03, told by the key id) or a failed GCM tag (74/04).
 */
export function unsealBlock(
  params: EncryptionParameters,
  env: Envelope,
  keyId: number,
  flags: number,
  place: BlockPlace,
): Buffer | SenseCode {
  if (!params.key || env.algorithmIndex !== params.algorithmIndex || keyId !== params.keyId)
    return SSC_SENSE.INCORRECT_DATA_ENCRYPTION_KEY;
  const decipher = createDecipheriv('aes-256-gcm', params.key, env.nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad(env.header, env.akad, flags, place));
  decipher.setAuthTag(env.tag);
  const plain = decipher.update(env.body);
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    return SSC_SENSE.CRYPTOGRAPHIC_INTEGRITY_VALIDATION_FAILED;
  }
}

const EMPTY = Buffer.alloc(0);

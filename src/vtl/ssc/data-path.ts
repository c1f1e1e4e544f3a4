/**
 * What happens to a block between the host and the tape image, in SSC-4 order: logical block
 * protection is checked and stripped (LBP_W), the block is compressed with zstd when data
 * compression is enabled (mode page 0Fh DCE, page 10h SELECT DATA COMPRESSION ALGORITHM) and
 * that saves space, then encrypted with AES-256-GCM when the data encryption parameters say
 * ENCRYPT (encryption.ts). Reading reverses it under the decryption mode, and appends the
 * CRC32C again when LBP_R is set.
 *
 * Protection information is stored without its CRC32C: the record's own CRC32C covers the
 * payload on disk, and a block written with LBP_W and read without LBP_R must come back without
 * it (SSC-4 logical block protection: the protection information travels with the block between
 * host and drive, it is not part of the logical block). The CRC is recomputed when read.
 *
 * The capacity of the tape is consumed by what is stored (after compression and the encryption
 * envelope): the image accounts the payload length. Host and medium byte counts feed the
 * compression ratios of the Data Compression (1Bh) and Volume Statistics (17h) log pages.
 */
import zstd from 'zstd-napi/binding.js';
import { VtlError } from '../../util/errors.js';
import type { SenseCode } from '../../target/scsi/sense.js';
import { SenseError } from '../../target/scsi/sense.js';
import type { Nexus } from '../../target/scsi/types.js';
import { crc32c } from '../../target/transport/crc32c.js';
import type { ReadResult, TapeImage } from '../image/types.js';
import { MAX_BLOCK_LENGTH, RecordFlag } from '../image/record.js';
import { SSC_SENSE } from './sense-codes.js';
import {
  DecryptionMode,
  EncryptionMode,
  EncryptionState,
  ENCRYPTED_BLOCKS_KEY,
  openEnvelope,
  sealBlock,
  unsealBlock,
  type BlockPlace,
} from './encryption.js';

/** LOGICAL BLOCK PROTECTION METHOD values (SSC-4 control data protection page). */
export const LbpMethod = { NONE: 0x00, REED_SOLOMON_CRC: 0x01, CRC32C: 0x02 } as const;
/** Bytes of protection information a CRC32C adds to a block. */
export const LBP_CRC32C_LENGTH = 4;

/** Control data protection mode page state (lbp.ts), per drive; defaults after a reset. */
export interface LbpSettings {
  method: number;
  lbpW: boolean;
  lbpR: boolean;
  rbdp: boolean;
}

/** Byte counts in both directions: host side, after compression, and stored (with envelope). */
export interface TransferTotals {
  hostWritten: number;
  compressedWritten: number;
  mediumWritten: number;
  hostRead: number;
  compressedRead: number;
  mediumRead: number;
}

const zeroTotals = (): TransferTotals => ({
  hostWritten: 0,
  compressedWritten: 0,
  mediumWritten: 0,
  hostRead: 0,
  compressedRead: 0,
  mediumRead: 0,
});

/** Per block on the data path: plain updates, no array of the two totals allocated per command. */
function countWrite(t: TransferTotals, host: number, compressed: number, medium: number): void {
  t.hostWritten += host;
  t.compressedWritten += compressed;
  t.mediumWritten += medium;
}

function countRead(t: TransferTotals, host: number, compressed: number, medium: number): void {
  t.hostRead += host;
  t.compressedRead += compressed;
  t.mediumRead += medium;
}

/** A READ the data path refused: the DATA PROTECT condition, the head back before the block. */
export type DataReadResult = ReadResult | { readonly kind: 'protected'; readonly sense: SenseCode };

/** zstd level for drive compression: level 1 runs at GB/s on incompressible data (measured). */
export const DEFAULT_COMPRESSION_LEVEL = 1;

/**
 * Blocks above this size are first probed: three 1 KiB samples (start, middle, end) are
 * compressed, and when they do not shrink below PROBE_KEEP of their size the block is stored as
 * it is without compressing the whole of it. Incompressible data (already compressed or
 * encrypted backups, the common case) then costs a few microseconds instead of a full zstd pass
 * per block — the early abort ZFS and btrfs use for the same reason.
 */
const PROBE_ABOVE = 16 * 1024;
const PROBE_SLICE = 1024;
const PROBE_KEEP = 0.9;

/** The CRC32C protection information of a block, little-endian as LTFS writes it (crc32c_crc.c). */
export function lbpCrc(data: Buffer): number {
  return crc32c(data, 0);
}

export class DataPath {
  readonly encryption = new EncryptionState();
  lbp: LbpSettings = { method: LbpMethod.NONE, lbpW: false, lbpR: false, rbdp: false };
  /** Since the drive's log counters were last reset (LOG SELECT). */
  totals: TransferTotals = zeroTotals();
  private volume: { image: TapeImage | null; totals: TransferTotals } = { image: null, totals: zeroTotals() };
  private readonly cctx = new zstd.CCtx();
  private readonly dctx = new zstd.DCtx();
  private compressScratch = Buffer.alloc(0);
  private readScratch = Buffer.alloc(0);
  private readonly probeIn = Buffer.allocUnsafe(3 * PROBE_SLICE);
  private readonly probeOut = Buffer.allocUnsafe(zstd.compressBound(3 * PROBE_SLICE));
  /** Blocks stored raw because the probe said they would not compress (tests read it). */
  probeSkips = 0;

  constructor(readonly compressionLevel = DEFAULT_COMPRESSION_LEVEL) {}

  /** False when samples of a large block do not compress: store it without trying the whole. */
  private worthCompressing(data: Buffer): boolean {
    if (data.length <= PROBE_ABOVE) return true;
    const mid = (data.length >> 1) - (PROBE_SLICE >> 1);
    data.copy(this.probeIn, 0, 0, PROBE_SLICE);
    data.copy(this.probeIn, PROBE_SLICE, mid, mid + PROBE_SLICE);
    data.copy(this.probeIn, 2 * PROBE_SLICE, data.length - PROBE_SLICE);
    const n = this.cctx.compress(this.probeOut, this.probeIn, this.compressionLevel);
    if (n < this.probeIn.length * PROBE_KEEP) return true;
    this.probeSkips++;
    return false;
  }

  /** Counters of the loaded volume for this load (started afresh when the cartridge changes). */
  volumeTotals(image: TapeImage): TransferTotals {
    if (this.volume.image !== image) this.volume = { image, totals: zeroTotals() };
    return this.volume.totals;
  }

  /**
   * Writes one host block at the head. Returns false, writing nothing, when the stored form
   * does not fit in what is left of the partition (the caller reports VOLUME OVERFLOW).
   */
  async write(nexus: Nexus, image: TapeImage, block: Buffer, compression: boolean): Promise<boolean> {
    let data = block;
    if (this.lbp.lbpW && this.lbp.method === LbpMethod.CRC32C) data = stripProtection(block);
    let flags = 0;
    let payload = data;
    if (compression && data.length > 0 && this.worthCompressing(data)) {
      const bound = zstd.compressBound(data.length);
      if (this.compressScratch.length < bound) this.compressScratch = Buffer.allocUnsafe(bound);
      const n = this.cctx.compress(this.compressScratch, data, this.compressionLevel);
      // Stored compressed only when that saves space (incompressible data stays as it is).
      if (n < data.length) {
        payload = this.compressScratch.subarray(0, n);
        flags |= RecordFlag.compressed;
      }
    }
    const compressedLength = payload.length;
    const params = this.encryption.paramsFor(nexus);
    let keyId = 0;
    if (params?.encryptionMode === EncryptionMode.ENCRYPT) {
      const p = image.position();
      payload = sealBlock(params, payload, flags, { partition: p.partition, objectNumber: p.objectNumber });
      flags |= RecordFlag.encrypted;
      keyId = params.keyId;
      image.meta.attributes[ENCRYPTED_BLOCKS_KEY] = '1';
    }
    if (payload.length > image.remaining) return false;
    // The image copies the payload before resolving, so the scratch is free again afterwards.
    await image.writeBlock(payload, flags === 0 ? undefined : { flags, keyId });
    countWrite(this.totals, data.length, compressedLength, payload.length);
    countWrite(this.volumeTotals(image), data.length, compressedLength, payload.length);
    return true;
  }

  /**
   * Reads the object at the head and turns a data block back into what the host sees. A block
   * the decryption parameters cannot deliver leaves the head before it and answers `protected`.
   * A `transient` result may live in memory the next read reuses (as TapeImage.read).
   */
  async read(nexus: Nexus, image: TapeImage, transient: boolean): Promise<DataReadResult> {
    const before = image.position();
    const r = await image.read({ transient });
    if (r.kind !== 'data') return r;
    const place: BlockPlace = { partition: before.partition, objectNumber: before.objectNumber };
    const flags = r.flags ?? 0;
    const params = this.encryption.paramsFor(nexus);
    const mode = params?.decryptionMode ?? DecryptionMode.DISABLE;
    let data = r.data;
    let refusal: SenseCode | null = null;
    if (flags & RecordFlag.encrypted) {
      // SSC-4 4.2.24 reading encrypted data: DISABLE cannot, RAW is never enabled here.
      if (mode === DecryptionMode.DISABLE) refusal = SSC_SENSE.UNABLE_TO_DECRYPT_DATA;
      else if (mode === DecryptionMode.RAW) refusal = SSC_SENSE.ENCRYPTED_BLOCK_NOT_RAW_READ_ENABLED;
      else {
        const plain = unsealBlock(params!, openEnvelope(data), r.keyId ?? 0, flags, place);
        if (Buffer.isBuffer(plain)) data = plain;
        else refusal = plain;
      }
    } else if (mode === DecryptionMode.DECRYPT || mode === DecryptionMode.RAW) {
      // MIXED reads clear blocks too; DECRYPT (and RAW) expect only encrypted ones.
      refusal = SSC_SENSE.UNENCRYPTED_DATA_ENCOUNTERED_WHILE_DECRYPTING;
    }
    if (refusal !== null) {
      await image.locate(place.objectNumber);
      return { kind: 'protected', sense: refusal };
    }
    const compressedLength = data.length;
    if (flags & RecordFlag.compressed) data = this.decompress(data, transient);
    countRead(this.totals, data.length, compressedLength, r.data.length);
    countRead(this.volumeTotals(image), data.length, compressedLength, r.data.length);
    if (this.lbp.lbpR && this.lbp.method === LbpMethod.CRC32C) data = appendProtection(data);
    return { kind: 'data', data };
  }

  /** LOGICAL UNIT RESET (SAM-5, SSC-4 4.2.24): keys are released, LBP returns to its default. */
  reset(): void {
    this.encryption.clearAll();
    this.lbp = { method: LbpMethod.NONE, lbpW: false, lbpR: false, rbdp: false };
  }

  /** I_T nexus loss: that nexus's LOCAL encryption parameters go. */
  nexusLost(nexus: Nexus): void {
    this.encryption.nexusLost(nexus);
  }

  /** The volume was demounted (unload, unthread, shutdown): CKOD parameters go. */
  demounted(): void {
    this.encryption.demounted();
  }

  /** LOG SELECT reset of the drive's transfer counters. */
  resetTotals(): void {
    this.totals = zeroTotals();
  }

  private decompress(frame: Buffer, transient: boolean): Buffer {
    const size = zstd.getFrameContentSize(frame);
    if (size === null || size > MAX_BLOCK_LENGTH)
      throw new VtlError('ERR_IMAGE', `compressed block: frame content size ${String(size)} is not usable`);
    let out: Buffer;
    if (transient) {
      if (this.readScratch.length < size) this.readScratch = Buffer.allocUnsafe(size);
      out = this.readScratch.subarray(0, size);
    } else {
      out = Buffer.allocUnsafe(size);
    }
    let n: number;
    try {
      n = this.dctx.decompress(out, frame);
    } catch (err) {
      throw new VtlError('ERR_IMAGE', `compressed block: ${(err as Error).message}`, { cause: err });
    }
    if (n !== size) throw new VtlError('ERR_IMAGE', `compressed block: ${n} of ${size} bytes decompressed`);
    return out;
  }
}

/** Compression ratio x100 (SSC-4 log pages 1Bh/17h): 100 while nothing moved. */
export function ratio(host: number, compressed: number): number {
  if (compressed === 0 || host === 0) return 100;
  return Math.min(0xffff, Math.round((host * 100) / compressed));
}

/** LBP_W: the last four bytes must be the CRC32C of the rest (SSC-4 logical block protection). */
function stripProtection(block: Buffer): Buffer {
  const n = block.length - LBP_CRC32C_LENGTH;
  if (n < 0) throw new SenseError(SSC_SENSE.LOGICAL_BLOCK_GUARD_CHECK_FAILED);
  const data = block.subarray(0, n);
  if (block.readUInt32LE(n) !== lbpCrc(data))
    throw new SenseError(SSC_SENSE.LOGICAL_BLOCK_GUARD_CHECK_FAILED);
  return data;
}

function appendProtection(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length + LBP_CRC32C_LENGTH);
  data.copy(out, 0);
  out.writeUInt32LE(lbpCrc(data), data.length);
  return out;
}

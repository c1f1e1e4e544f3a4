/**
 * The export object format. Each chunk object is self-describing:
 *
 *   offset  size  field
 *   0       4     magic "VTLX"
 *   4       1     version (1)
 *   5       1     flags: bit 0 zstd-compressed, bit 1 AES-256-GCM encrypted
 *   6       2     header length (64)
 *   8       4     chunk index (1-based)
 *   12      4     chunk count of the export
 *   16      16    export id (random per export)
 *   32      8     plaintext offset of this chunk in the export stream
 *   40      8     plaintext length
 *   48      12    GCM nonce (zero when not encrypted)
 *   60      4     reserved (0)
 *   64      …     payload: one zstd frame of the plaintext (or the plaintext itself),
 *                 encrypted when flagged
 *   end-16  16    GCM tag (only when encrypted)
 *
 * The whole header is the GCM additional authenticated data, so a chunk cannot be moved to
 * another index or another export, nor its flags or lengths altered, without failing
 * authentication. Compression runs before encryption (ciphertext does not compress). The
 * plaintext "export stream" is the cartridge's files laid end to end in manifest order.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  constants as cryptoConstants,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import zstd from 'zstd-napi/binding.js';
import { ByteReader, ByteWriter } from '../util/bytes.js';
import { MigrationError, checkAborted } from './remote.js';

export const CHUNK_MAGIC = 0x56544c58; // "VTLX"
export const CHUNK_VERSION = 1;
export const HEADER_LENGTH = 64;
export const TAG_LENGTH = 16;
export const FLAG_COMPRESSED = 0x01;
export const FLAG_ENCRYPTED = 0x02;
/** Plaintext read per step: large enough to amortise calls, small enough to bound memory. */
const STEP = 1 << 20;
/** Output gathered before one write. */
const FLUSH_AT = 4 << 20;

export interface ChunkHeader {
  version: number;
  flags: number;
  index: number;
  count: number;
  exportId: Buffer;
  plainOffset: number;
  plainLength: number;
  nonce: Buffer;
}

export function encodeHeader(h: ChunkHeader): Buffer {
  return new ByteWriter(HEADER_LENGTH)
    .u32(CHUNK_MAGIC)
    .u8(h.version)
    .u8(h.flags)
    .u16(HEADER_LENGTH)
    .u32(h.index)
    .u32(h.count)
    .bytes(h.exportId)
    .u64(h.plainOffset)
    .u64(h.plainLength)
    .bytes(h.nonce)
    .u32(0)
    .result();
}

export function decodeHeader(buf: Buffer, chunk: string): ChunkHeader {
  if (buf.length < HEADER_LENGTH)
    throw new MigrationError('ERR_FORMAT', `${chunk}: shorter than a chunk header`, { chunk });
  const r = new ByteReader(buf);
  if (r.u32() !== CHUNK_MAGIC)
    throw new MigrationError('ERR_FORMAT', `${chunk}: not an export chunk (bad magic)`, { chunk });
  const version = r.u8();
  if (version !== CHUNK_VERSION) {
    throw new MigrationError(
      'ERR_FORMAT',
      `${chunk}: chunk format version ${version}, this build reads ${CHUNK_VERSION}`,
      {
        chunk,
      },
    );
  }
  const flags = r.u8();
  const headerLength = r.u16();
  if (headerLength !== HEADER_LENGTH) {
    throw new MigrationError(
      'ERR_FORMAT',
      `${chunk}: header length ${headerLength}, expected ${HEADER_LENGTH}`,
      { chunk },
    );
  }
  return {
    version,
    flags,
    index: r.u32(),
    count: r.u32(),
    exportId: r.bytes(16),
    plainOffset: Number(r.u64()),
    plainLength: Number(r.u64()),
    nonce: r.bytes(12),
  };
}

/**
 * The largest plaintext per chunk such that the stored object never exceeds `chunkSize`
 * (ZSTD_compressBound is the single-frame worst case, incompressible input).
 */
export function plainLimit(chunkSize: number, compressed: boolean, encrypted: boolean): number {
  const room = chunkSize - HEADER_LENGTH - (encrypted ? TAG_LENGTH : 0);
  if (!compressed) return room;
  let lo = 1;
  let hi = room;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (zstd.compressBound(mid) <= room) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// ---- keys ------------------------------------------------------------------------------

export interface EncryptionKey {
  name: string;
  publicKey: KeyObject;
  /** Absent when the keystore file holds only the public half (export-only host). */
  privateKey: KeyObject | null;
  /** sha256 of the DER SubjectPublicKeyInfo, hex. */
  fingerprint: string;
}

/** Reads an RSA PEM (private, or public for export-only) from the keystore directory. */
export async function loadEncryptionKey(keystoreDir: string, name: string): Promise<EncryptionKey> {
  const path = join(keystoreDir, name);
  let pem: Buffer;
  try {
    pem = await fsp.readFile(path);
  } catch (err) {
    throw new MigrationError('ERR_KEY', `encryption key ${path}: ${(err as Error).message}`, { cause: err });
  }
  let privateKey: KeyObject | null = null;
  let publicKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
    publicKey = createPublicKey(privateKey);
  } catch {
    try {
      publicKey = createPublicKey(pem);
    } catch (err) {
      throw new MigrationError(
        'ERR_KEY',
        `encryption key ${path} is not a PEM RSA key: ${(err as Error).message}`,
      );
    }
  }
  if (publicKey.asymmetricKeyType !== 'rsa') {
    throw new MigrationError(
      'ERR_KEY',
      `encryption key ${path} is ${publicKey.asymmetricKeyType} (RSA is required)`,
    );
  }
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return { name, publicKey, privateKey, fingerprint: createHash('sha256').update(der).digest('hex') };
}

const OAEP = { padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

export function wrapDataKey(key: EncryptionKey, dataKey: Buffer): Buffer {
  return publicEncrypt({ key: key.publicKey, ...OAEP }, dataKey);
}

export function unwrapDataKey(key: EncryptionKey, wrapped: Buffer): Buffer {
  if (key.privateKey === null) {
    throw new MigrationError(
      'ERR_KEY',
      `keystore file ${key.name} holds only a public key; decryption needs the private key`,
    );
  }
  const dataKey = privateDecrypt({ key: key.privateKey, ...OAEP }, wrapped);
  if (dataKey.length !== 32)
    throw new MigrationError('ERR_KEY', `unwrapped data key is ${dataKey.length} bytes, expected 32`);
  return dataKey;
}

// ---- encoding --------------------------------------------------------------------------

/** Reads the plaintext export stream: `read(offset, target)` fills `target` completely. */
export interface PlainSource {
  read(offset: number, target: Buffer): Promise<void>;
}

export interface EncodeChunkParams {
  source: PlainSource;
  header: Omit<ChunkHeader, 'version' | 'flags' | 'nonce'>;
  /** zstd level, or null for no compression. */
  compressionLevel: number | null;
  /** AES-256 data key, or null for no encryption. */
  dataKey: Buffer | null;
  outPath: string;
  signal?: AbortSignal;
}

export interface EncodedChunk {
  size: number;
  md5: string;
  sha256: string;
  plainSha256: string;
}

/**
 * Writes one chunk object to `outPath` in a single pass: plaintext → zstd → AES-GCM → file, with
 * MD5 (what rclone compares), SHA-256 of the object and SHA-256 of the plaintext computed on
 * the fly (migrate.md 4.2: no second read). Memory is a few MiB whatever the chunk size.
 */
export async function encodeChunk(p: EncodeChunkParams): Promise<EncodedChunk> {
  const compressed = p.compressionLevel !== null;
  const encrypted = p.dataKey !== null;
  const nonce = encrypted ? randomBytes(12) : Buffer.alloc(12);
  const flags = (compressed ? FLAG_COMPRESSED : 0) | (encrypted ? FLAG_ENCRYPTED : 0);
  const header = encodeHeader({ ...p.header, version: CHUNK_VERSION, flags, nonce });
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const plainSha = createHash('sha256');
  const cipher = p.dataKey === null ? null : createCipheriv('aes-256-gcm', p.dataKey, nonce);
  cipher?.setAAD(header);
  const fh = await fsp.open(p.outPath, 'w');
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    await writeAll(fh, pending);
    pending = [];
    pendingBytes = 0;
  };
  // `owned`: the buffer will not be reused by the caller, so it may be queued without a copy.
  const out = (buf: Buffer, owned: boolean): void => {
    if (buf.length === 0) return;
    const b = owned ? buf : Buffer.from(buf);
    md5.update(b);
    sha.update(b);
    pending.push(b);
    pendingBytes += b.length;
    size += b.length;
  };
  const payload = (buf: Buffer, owned: boolean): void => {
    if (cipher !== null) out(cipher.update(buf), true);
    else out(buf, owned);
  };
  try {
    out(header, true);
    const cctx = compressed ? new zstd.CCtx() : null;
    if (cctx !== null) {
      cctx.setParameter(zstd.CParameter.compressionLevel, p.compressionLevel ?? 1);
      cctx.setPledgedSrcSize(p.header.plainLength);
    }
    const zbuf = compressed ? Buffer.allocUnsafe(zstd.compressBound(STEP)) : null;
    const inBuf = Buffer.allocUnsafe(Math.min(STEP, Math.max(p.header.plainLength, 1)));
    let done = 0;
    while (done < p.header.plainLength) {
      checkAborted(p.signal);
      const n = Math.min(inBuf.length, p.header.plainLength - done);
      const input = inBuf.subarray(0, n);
      await p.source.read(p.header.plainOffset + done, input);
      plainSha.update(input);
      done += n;
      if (cctx === null || zbuf === null) {
        payload(input, false);
      } else {
        let pos = 0;
        while (pos < n) {
          const [, produced, consumed] = cctx.compressStream2(
            zbuf,
            input.subarray(pos),
            zstd.EndDirective.continue,
          );
          pos += consumed;
          payload(zbuf.subarray(0, produced), false);
        }
      }
      if (pendingBytes >= FLUSH_AT) await flush();
    }
    if (cctx !== null && zbuf !== null) {
      for (;;) {
        const [left, produced] = cctx.compressStream2(zbuf, Buffer.alloc(0), zstd.EndDirective.end);
        payload(zbuf.subarray(0, produced), false);
        if (left === 0) break;
      }
    }
    if (cipher !== null) {
      out(cipher.final(), true);
      out(cipher.getAuthTag(), true);
    }
    await flush();
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { size, md5: md5.digest('hex'), sha256: sha.digest('hex'), plainSha256: plainSha.digest('hex') };
}

async function writeAll(fh: FileHandle, parts: Buffer[]): Promise<void> {
  let rest = parts;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    let skip = bytesWritten;
    while (skip > 0 && rest.length > 0) {
      if (rest[0].length <= skip) {
        skip -= rest[0].length;
        rest = rest.slice(1);
      } else {
        rest = [rest[0].subarray(skip), ...rest.slice(1)];
        skip = 0;
      }
    }
  }
}

// ---- decoding --------------------------------------------------------------------------

export interface DecodeChunkParams {
  path: string;
  chunk: string;
  /** What the manifest says this chunk is; the header must agree. */
  expect: {
    index: number;
    count: number;
    exportId: Buffer;
    plainOffset: number;
    plainLength: number;
    flags: number;
  };
  dataKey: Buffer | null;
  /** Receives the plaintext in order; the buffer may be reused after the promise settles. */
  sink: (plain: Buffer) => Promise<void>;
  signal?: AbortSignal;
}

/** Hashes a local file with MD5 and SHA-256 in one read. */
export async function hashFile(
  path: string,
  signal?: AbortSignal,
): Promise<{ md5: string; sha256: string; size: number }> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const fh = await fsp.open(path, 'r');
  const buf = Buffer.allocUnsafe(4 * STEP);
  let size = 0;
  try {
    for (;;) {
      checkAborted(signal);
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      const part = buf.subarray(0, bytesRead);
      md5.update(part);
      sha.update(part);
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { md5: md5.digest('hex'), sha256: sha.digest('hex'), size };
}

/**
 * Reads one chunk object: checks its header against the manifest, authenticates and decrypts,
 * decompresses, and hands the plaintext to `sink`. Returns the plaintext SHA-256. Any mismatch
 * fails naming the chunk.
 */
export async function decodeChunk(p: DecodeChunkParams): Promise<string> {
  const { chunk } = p;
  const fh = await fsp.open(p.path, 'r');
  try {
    const objSize = (await fh.stat()).size;
    const head = Buffer.alloc(HEADER_LENGTH);
    await fh.read(head, 0, HEADER_LENGTH, 0);
    const h = decodeHeader(head, chunk);
    const e = p.expect;
    if (
      h.index !== e.index ||
      h.count !== e.count ||
      !h.exportId.equals(e.exportId) ||
      h.plainOffset !== e.plainOffset ||
      h.plainLength !== e.plainLength ||
      h.flags !== e.flags
    ) {
      throw new MigrationError(
        'ERR_FORMAT',
        `${chunk}: header says chunk ${h.index}/${h.count} at ${h.plainOffset}+${h.plainLength} flags ${h.flags}, ` +
          `manifest expects ${e.index}/${e.count} at ${e.plainOffset}+${e.plainLength} flags ${e.flags} ` +
          `(a chunk of another export or position)`,
        { chunk },
      );
    }
    const encrypted = (h.flags & FLAG_ENCRYPTED) !== 0;
    const compressed = (h.flags & FLAG_COMPRESSED) !== 0;
    if (encrypted && p.dataKey === null)
      throw new MigrationError('ERR_KEY', `${chunk}: encrypted, but no key`, { chunk });
    const end = objSize - (encrypted ? TAG_LENGTH : 0);
    if (end < HEADER_LENGTH)
      throw new MigrationError('ERR_FORMAT', `${chunk}: truncated (${objSize} bytes)`, { chunk });
    const decipher =
      encrypted && p.dataKey !== null ? createDecipheriv('aes-256-gcm', p.dataKey, h.nonce) : null;
    if (decipher !== null) {
      const tag = Buffer.alloc(TAG_LENGTH);
      await fh.read(tag, 0, TAG_LENGTH, end);
      decipher.setAAD(head);
      decipher.setAuthTag(tag);
    }
    const dctx = compressed ? new zstd.DCtx() : null;
    const dbuf = Buffer.allocUnsafe(2 * STEP);
    const plainSha = createHash('sha256');
    let plainDone = 0;
    const emit = async (plain: Buffer): Promise<void> => {
      if (plain.length === 0) return;
      plainDone += plain.length;
      if (plainDone > h.plainLength) {
        throw new MigrationError(
          'ERR_FORMAT',
          `${chunk}: more plaintext than the ${h.plainLength} bytes declared`,
          { chunk },
        );
      }
      plainSha.update(plain);
      await p.sink(plain);
    };
    let frameLeft = 1;
    const payload = async (data: Buffer): Promise<void> => {
      if (dctx === null) {
        await emit(data);
        return;
      }
      let pos = 0;
      while (pos < data.length || frameLeft > 0) {
        const [left, produced, consumed] = dctx.decompressStream(dbuf, data.subarray(pos));
        frameLeft = left;
        pos += consumed;
        await emit(dbuf.subarray(0, produced));
        if (produced === 0 && consumed === 0) break;
      }
    };
    const buf = Buffer.allocUnsafe(STEP);
    let off = HEADER_LENGTH;
    try {
      while (off < end) {
        checkAborted(p.signal);
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - off), off);
        if (bytesRead === 0) break;
        off += bytesRead;
        const part = buf.subarray(0, bytesRead);
        await payload(decipher === null ? part : decipher.update(part));
      }
      if (decipher !== null) {
        try {
          await payload(decipher.final());
        } catch (err) {
          if (err instanceof MigrationError) throw err;
          throw new MigrationError(
            'ERR_KEY',
            `${chunk}: authentication failed (wrong key or altered chunk)`,
            { chunk },
          );
        }
      }
    } catch (err) {
      if (err instanceof MigrationError) throw err;
      throw new MigrationError('ERR_FORMAT', `${chunk}: cannot decode: ${(err as Error).message}`, {
        chunk,
        cause: err,
      });
    }
    if (dctx !== null && frameLeft !== 0) {
      throw new MigrationError('ERR_FORMAT', `${chunk}: zstd frame is truncated`, { chunk });
    }
    if (plainDone !== h.plainLength) {
      throw new MigrationError(
        'ERR_FORMAT',
        `${chunk}: ${plainDone} plaintext bytes, header declares ${h.plainLength}`,
        {
          chunk,
        },
      );
    }
    return plainSha.digest('hex');
  } finally {
    await fh.close();
  }
}

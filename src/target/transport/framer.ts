/**
 * iSCSI PDU framing (RFC 7143 11.2): cuts a byte stream split anywhere into whole PDUs, checks
 * the CRC32C digests (RFC 7143 11.1, 13.1) and enforces our MaxRecvDataSegmentLength before any
 * data segment is allocated. The encoder does the reverse for sends. The native addon frames in
 * C++ with the same rules and the same error texts (native/framer.cc); tests hold both to it.
 *
 * Wire layout of one PDU:
 *   BHS (48) | AHS (TotalAHSLength * 4) | HeaderDigest (4)? | data (DataSegmentLength) |
 *   padding to a multiple of 4 | DataDigest (4)?
 * Digests are sent least significant byte first (RFC 7143 13.1 "the CRC ... bits are
 * transmitted in order x^31 first"; as implemented by libiscsi lib/pdu.c and socket.c, which
 * store the CRC little-endian). The header digest covers BHS and AHS; the data digest covers
 * the data segment and its padding, and is absent when DataSegmentLength is 0.
 */
import { VtlError } from '../../util/errors.js';
import { crc32c } from './crc32c.js';
import type { Pdu } from './types.js';

export const BHS_LENGTH = 48;
export const DIGEST_LENGTH = 4;
/** RFC 7143 13.12: the default MaxRecvDataSegmentLength, in force until login changes it. */
export const DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH = 8192;
/** DataSegmentLength is a 24-bit field (RFC 7143 11.2.1.4). */
export const MAX_DATA_SEGMENT_LENGTH = 0xffffff;
/** BHS byte 4 is TotalAHSLength in 4-byte words, byte 5-7 DataSegmentLength (RFC 7143 11.2.1). */
const OFFSET_TOTAL_AHS_LENGTH = 4;
const OFFSET_DATA_SEGMENT_LENGTH = 5;
const MAX_HEADER_LENGTH = BHS_LENGTH + 255 * 4 + DIGEST_LENGTH;
const ZERO_PAD = Buffer.alloc(3);
/** Data segments at least this long that span pushes get a recyclable buffer (see `release`). */
const RECYCLE_THRESHOLD = 64 * 1024;
/** Delivered buffers remembered for `release`, and released ones kept for reuse. */
const MAX_LENT_BUFFERS = 8;
const MAX_SPARE_BUFFERS = 4;
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

export function dataSegmentLength(bhs: Buffer): number {
  return (
    (bhs[OFFSET_DATA_SEGMENT_LENGTH] << 16) |
    (bhs[OFFSET_DATA_SEGMENT_LENGTH + 1] << 8) |
    bhs[OFFSET_DATA_SEGMENT_LENGTH + 2]
  );
}

const hex = (v: number): string => '0x' + v.toString(16).padStart(8, '0');

/** The error texts, shared word for word with native/framer.cc. */
export function oversizeSegmentError(length: number, limit: number): VtlError {
  return new VtlError(
    'ERR_PROTOCOL',
    `data segment of ${length} bytes exceeds MaxRecvDataSegmentLength ${limit}`,
  );
}

export function headerDigestError(computed: number, received: number): VtlError {
  return new VtlError(
    'ERR_PROTOCOL',
    `header digest mismatch: computed ${hex(computed)}, received ${hex(received)}`,
  );
}

/** A data segment being filled across several pushes. */
interface PendingData {
  bhs: Buffer;
  ahs: Buffer | null;
  length: number;
  /** length + padding + digest bytes; `data` is `buf.subarray(0, length)`. */
  buf: Buffer;
  fill: number;
  digest: boolean;
}

export class PduFramer {
  private headerDigest = false;
  private dataDigest = false;
  private maxRecv = DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH;
  /** Digest settings latched when the current PDU's first byte arrived. */
  private pduHeaderDigest = false;
  private pduDataDigest = false;
  /** A header split across pushes is gathered here, then copied out once whole. */
  private readonly scratch = Buffer.allocUnsafe(MAX_HEADER_LENGTH);
  private scratchFill = 0;
  private pending: PendingData | null = null;
  private failure: VtlError | null = null;
  /** Large data buffers delivered (oldest first) and ones handed back for reuse; see `release`. */
  private readonly lent: Buffer[] = [];
  private readonly spare: Buffer[] = [];

  /** Applies from the next PDU boundary: a PDU already begun keeps the settings it began with. */
  setDigests(header: boolean, data: boolean): void {
    this.headerDigest = header;
    this.dataDigest = data;
  }

  setMaxRecvDataSegmentLength(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 512 || bytes > MAX_DATA_SEGMENT_LENGTH) {
      // RFC 7143 13.12: MaxRecvDataSegmentLength is 512 to 2^24-1.
      throw new VtlError(
        'ERR_INVALID_ARGUMENT',
        `MaxRecvDataSegmentLength must be an integer from 512 to ${MAX_DATA_SEGMENT_LENGTH}, got ${bytes}`,
      );
    }
    this.maxRecv = bytes;
  }

  /** The fatal error that stopped this framer, or null. */
  get error(): VtlError | null {
    return this.failure;
  }

  /** True when no PDU is partly received. */
  get idle(): boolean {
    return this.scratchFill === 0 && this.pending === null;
  }

  /**
   * Frames `bytes` (any split of the stream) and appends every PDU it completes to `out`, which
   * is returned. A fatal framing error (header digest mismatch, oversized data segment) is
   * thrown after the PDUs completed before it were appended to `out`, so a caller passing its
   * own array keeps them; the framer is then dead and every later push throws the same error.
   * Small PDUs inside `bytes` are returned as views of it, so `bytes` must not be reused while
   * they are in use; the framer itself keeps no reference to `bytes` once push returns.
   */
  push(bytes: Buffer, out: Pdu[] = []): Pdu[] {
    if (this.failure) throw this.failure;
    const len = bytes.length;
    let off = 0;
    while (off < len) {
      const p = this.pending;
      if (p !== null) {
        const n = Math.min(p.buf.length - p.fill, len - off);
        bytes.copy(p.buf, p.fill, off, off + n);
        p.fill += n;
        off += n;
        if (p.fill < p.buf.length) break;
        this.pending = null;
        out.push(this.finishData(p.bhs, p.ahs, p.buf, p.length, p.digest));
        continue;
      }
      if (this.scratchFill === 0) {
        this.pduHeaderDigest = this.headerDigest;
        this.pduDataDigest = this.dataDigest;
        if (len - off >= BHS_LENGTH) {
          const need = this.headerLength(bytes, off);
          if (len - off >= need) {
            off = this.onHeader(bytes, off, need, out);
            continue;
          }
        }
      }
      // The header is split: gather it in scratch, first the BHS, then AHS and digest.
      const need = this.scratchFill < BHS_LENGTH ? BHS_LENGTH : this.headerLength(this.scratch, 0);
      const n = Math.min(need - this.scratchFill, len - off);
      bytes.copy(this.scratch, this.scratchFill, off, off + n);
      this.scratchFill += n;
      off += n;
      if (this.scratchFill < need) continue;
      const whole = this.headerLength(this.scratch, 0);
      if (this.scratchFill < whole) continue;
      const header = Buffer.from(this.scratch.subarray(0, whole));
      this.scratchFill = 0;
      // The header copy is standalone; its data segment, if any, comes from `bytes`.
      const pdu = this.parseHeader(header, 0, whole);
      if (pdu.length === 0) {
        out.push({ bhs: pdu.bhs, ahs: pdu.ahs, data: null, dataDigestError: false });
      } else {
        off = this.startData(pdu.bhs, pdu.ahs, pdu.length, bytes, off, out);
      }
    }
    return out;
  }

  private headerLength(buf: Buffer, off: number): number {
    return BHS_LENGTH + buf[off + OFFSET_TOTAL_AHS_LENGTH] * 4 + (this.pduHeaderDigest ? DIGEST_LENGTH : 0);
  }

  /** A whole header at bytes[off, off + need): parse it, then its data if present. */
  private onHeader(bytes: Buffer, off: number, need: number, out: Pdu[]): number {
    const { bhs, ahs, length } = this.parseHeader(bytes, off, need);
    off += need;
    if (length === 0) {
      out.push({ bhs, ahs, data: null, dataDigestError: false });
      return off;
    }
    return this.startData(bhs, ahs, length, bytes, off, out);
  }

  /** The header stage (STYLE habit 4): digest and length checks before any payload is taken. */
  private parseHeader(
    buf: Buffer,
    off: number,
    headerLength: number,
  ): { bhs: Buffer; ahs: Buffer | null; length: number } {
    const ahsLength = headerLength - BHS_LENGTH - (this.pduHeaderDigest ? DIGEST_LENGTH : 0);
    if (this.pduHeaderDigest) {
      const computed = crc32c(buf.subarray(off, off + BHS_LENGTH + ahsLength));
      const received = buf.readUInt32LE(off + BHS_LENGTH + ahsLength);
      if (computed !== received) this.fail(headerDigestError(computed, received));
    }
    const bhs = buf.subarray(off, off + BHS_LENGTH);
    const length = dataSegmentLength(bhs);
    if (length > this.maxRecv) this.fail(oversizeSegmentError(length, this.maxRecv));
    const ahs = ahsLength > 0 ? buf.subarray(off + BHS_LENGTH, off + BHS_LENGTH + ahsLength) : null;
    return { bhs, ahs, length };
  }

  /** Takes the data segment as a view when it is all here, else starts filling a buffer. */
  private startData(
    bhs: Buffer,
    ahs: Buffer | null,
    length: number,
    bytes: Buffer,
    off: number,
    out: Pdu[],
  ): number {
    const digest = this.pduDataDigest;
    const total = pad4(length) + (digest ? DIGEST_LENGTH : 0);
    if (bytes.length - off >= total) {
      out.push(this.finishData(bhs, ahs, bytes.subarray(off, off + total), length, digest));
      return off + total;
    }
    const buf = this.takeBuffer(total);
    const n = bytes.copy(buf, 0, off);
    // The header may be a view of `bytes`, which the caller may fill again once push returns.
    const header = Buffer.allocUnsafe(BHS_LENGTH + (ahs ? ahs.length : 0));
    bhs.copy(header, 0);
    if (ahs) ahs.copy(header, BHS_LENGTH);
    this.pending = {
      bhs: header.subarray(0, BHS_LENGTH),
      ahs: ahs ? header.subarray(BHS_LENGTH) : null,
      length,
      buf,
      fill: n,
      digest,
    };
    return bytes.length;
  }

  /**
   * The unfilled rest of the data segment being gathered (data, padding and digest), or null
   * when none is: a reader may read the stream straight into it, then call `commit`.
   */
  pendingSpace(): Buffer | null {
    const p = this.pending;
    return p === null ? null : p.buf.subarray(p.fill);
  }

  /**
   * `n` bytes of the stream were written into the start of `pendingSpace()`. Appends the PDU
   * they complete, if they do, to `out`, which is returned.
   */
  commit(n: number, out: Pdu[] = []): Pdu[] {
    const p = this.pending;
    if (p === null || !Number.isInteger(n) || n < 0 || n > p.buf.length - p.fill) {
      throw new VtlError('ERR_STATE', `commit(${n}): no pending data segment has room for that`);
    }
    p.fill += n;
    if (p.fill === p.buf.length) {
      this.pending = null;
      out.push(this.finishData(p.bhs, p.ahs, p.buf, p.length, p.digest));
    }
    return out;
  }

  /**
   * The owner no longer uses `data` (the data segment of a PDU this framer returned, or a view
   * of it): its buffer may be filled by a later PDU. Only large segments gathered across pushes
   * have buffers of their own; anything else is ignored. Reuse saves allocating a new buffer per
   * large PDU, each of which V8 counts as external memory and answers with full collections.
   */
  release(data: Buffer): void {
    const i = this.lent.findIndex((b) => b.buffer === data.buffer);
    if (i < 0) return;
    const [b] = this.lent.splice(i, 1);
    const spareBytes = this.spare.reduce((n, x) => n + x.length, 0);
    if (this.spare.length < MAX_SPARE_BUFFERS && spareBytes + b.length <= MAX_SPARE_BYTES) this.spare.push(b);
  }

  private takeBuffer(total: number): Buffer {
    if (total < RECYCLE_THRESHOLD) return Buffer.allocUnsafe(total);
    let whole: Buffer | undefined;
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const b = this.spare[i];
      // Fits without wasting more than the request.
      if (b.length >= total && b.length <= 2 * total) {
        whole = b;
        this.spare.splice(i, 1);
        break;
      }
    }
    // Its own ArrayBuffer (allocUnsafe pools only small sizes), so `release` can recognise it.
    whole ??= Buffer.allocUnsafe(total);
    this.lent.push(whole);
    if (this.lent.length > MAX_LENT_BUFFERS) this.lent.shift();
    return whole.subarray(0, total);
  }

  private finishData(bhs: Buffer, ahs: Buffer | null, seg: Buffer, length: number, digest: boolean): Pdu {
    let dataDigestError = false;
    if (digest) {
      const padded = pad4(length);
      dataDigestError = crc32c(seg.subarray(0, padded)) !== seg.readUInt32LE(padded);
    }
    return { bhs, ahs, data: seg.subarray(0, length), dataDigestError };
  }

  private fail(err: VtlError): never {
    this.failure = err;
    throw err;
  }
}

/**
 * The pieces of one outgoing PDU, ready for a gathered write: header (BHS + AHS), header digest,
 * data, then padding and data digest together. `data` is referenced, not copied.
 */
export function encodePdu(
  header: Buffer,
  data: Buffer | null | undefined,
  headerDigest: boolean,
  dataDigest: boolean,
): Buffer[] {
  checkOutgoing(header, data);
  const out: Buffer[] = [header];
  if (headerDigest) {
    const d = Buffer.allocUnsafe(DIGEST_LENGTH);
    d.writeUInt32LE(crc32c(header));
    out.push(d);
  }
  const length = data ? data.length : 0;
  if (length === 0 || !data) return out;
  out.push(data);
  const padLength = pad4(length) - length;
  const tailLength = padLength + (dataDigest ? DIGEST_LENGTH : 0);
  if (tailLength > 0) {
    const tail = Buffer.alloc(tailLength);
    if (dataDigest) {
      const crc = padLength > 0 ? crc32c(ZERO_PAD.subarray(0, padLength), crc32c(data)) : crc32c(data);
      tail.writeUInt32LE(crc, padLength);
    }
    out.push(tail);
  }
  return out;
}

/**
 * What `Connection.send` requires of its arguments: a BHS followed by TotalAHSLength * 4 bytes
 * of AHS, and DataSegmentLength equal to the data given. Shared by both transports.
 */
export function checkOutgoing(header: Buffer, data: Buffer | null | undefined): void {
  if (!Buffer.isBuffer(header)) {
    throw new VtlError('ERR_INVALID_ARGUMENT', 'send: header must be a Buffer');
  }
  if (data != null && !Buffer.isBuffer(data)) {
    throw new VtlError('ERR_INVALID_ARGUMENT', 'send: data must be a Buffer, null or undefined');
  }
  if (header.length < BHS_LENGTH || header.length !== BHS_LENGTH + header[OFFSET_TOTAL_AHS_LENGTH] * 4) {
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `send: header of ${header.length} bytes is not a 48-byte BHS plus TotalAHSLength*4 bytes of AHS`,
    );
  }
  const length = data ? data.length : 0;
  const declared = dataSegmentLength(header);
  if (declared !== length) {
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `send: DataSegmentLength ${declared} in the BHS does not match ${length} bytes of data`,
    );
  }
}

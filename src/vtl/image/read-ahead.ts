/**
 * Read-ahead for the data path: one window of a chunk (default 4 MiB) is read at once and
 * records are served from it as views, so sequential READs of small blocks cost no system call
 * each. Every record is checked (header fields, object number, CRC32C) when served; a damaged
 * record is reported with the chunk file and byte offset, so an operator can find it.
 *
 * Window memory is reused when the store can read into a given buffer: two buffers alternate,
 * and a window is refilled only if every record served from it was read `transient` (its
 * caller is done with it before the next read). A window that served a record to any other
 * caller is left to the garbage collector, so such records stay valid as long as they are held.
 * Reuse matters: a fresh 4 MiB buffer per window counts as V8 external memory, and V8 answers
 * every 64 MiB of that with a full mark-compact.
 */
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore } from './types.js';
import {
  checkRecordCrc,
  decodeRecordHeader,
  KNOWN_RECORD_FLAGS,
  RECORD_HEADER_SIZE,
  type RecordHeader,
} from './record.js';

export interface ServedRecord {
  readonly header: RecordHeader;
  readonly payload: Buffer;
  /** Header plus payload: how far the next record is. */
  readonly size: number;
}

export class ReadAhead {
  /** Chunk file the window holds ('' when none); partitions share one read-ahead. */
  private chunk = '';
  private start = 0;
  private window: Buffer = Buffer.alloc(0);
  private chunkEnd = 0;
  /** The reusable buffer behind `window`, or null when the window is a buffer of its own. */
  private current: Buffer | null = null;
  /** A record from `current` went to a caller that may keep it: never refill it. */
  private shared = false;
  /** The previous window's buffer, refilled by the next window load. */
  private spare: Buffer | null = null;

  constructor(
    private readonly store: CartridgeStore,
    private readonly label: string,
    private readonly windowSize: number,
  ) {}

  invalidate(): void {
    this.chunk = '';
    this.window = Buffer.alloc(0);
    this.retire();
  }

  /** Bytes held by the window (bounded by the configured size or one record). */
  get windowBytes(): number {
    return this.window.length;
  }

  /**
   * Reads and checks the record at `offset` of chunk file `name`, which must be logical object
   * `objectNumber`. `chunkEnd` (the chunk's logical size) keeps the window from reading past
   * the data. A `transient` payload is valid until the next call (see the file comment).
   */
  async readRecord(
    name: string,
    offset: number,
    objectNumber: number,
    chunkEnd: number,
    transient = false,
  ): Promise<ServedRecord> {
    this.chunkEnd = chunkEnd;
    const where = `chunk ${name} offset ${offset}`;
    const headerBytes = await this.bytes(name, offset, RECORD_HEADER_SIZE, where);
    const header = decodeRecordHeader(headerBytes);
    if (typeof header === 'string') throw new VtlError('ERR_IMAGE', `${this.label}: ${where}: ${header}`);
    if (header.objectNumber !== objectNumber) {
      throw new VtlError(
        'ERR_IMAGE',
        `${this.label}: ${where}: record is object ${header.objectNumber}, index expects ${objectNumber}`,
      );
    }
    if ((header.flags & ~KNOWN_RECORD_FLAGS) !== 0) {
      throw new VtlError(
        'ERR_IMAGE',
        `${this.label}: ${where}: record flags 0x${header.flags.toString(16)} include bits this version does not know`,
      );
    }
    const payload = await this.bytes(name, offset + RECORD_HEADER_SIZE, header.payloadLength, where);
    const bad = checkRecordCrc(headerBytes, header, payload);
    if (bad !== null) throw new VtlError('ERR_IMAGE', `${this.label}: ${where}: ${bad}`);
    if (!transient && payload.length > 0) this.shared = true;
    return { header, payload, size: RECORD_HEADER_SIZE + header.payloadLength };
  }

  private async bytes(name: string, offset: number, length: number, where: string): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    const inWindow =
      name === this.chunk && offset >= this.start && offset + length <= this.start + this.window.length;
    if (!inWindow) {
      const want = Math.max(Math.min(this.windowSize, this.chunkEnd - offset), length);
      if (want <= this.windowSize && this.store.readInto) {
        // Fill the spare (or a new buffer); the window being left becomes the next spare.
        const target = this.spare ?? Buffer.allocUnsafe(this.windowSize);
        this.spare = null;
        this.chunk = '';
        const got = await this.store.readInto(name, offset, target.subarray(0, want));
        this.retire();
        this.current = target;
        this.window = target.subarray(0, got);
      } else {
        // A buffer of its own (a record larger than the window, or a store without readInto).
        this.chunk = '';
        const window = await this.store.read(name, offset, want);
        this.retire();
        this.window = window;
      }
      this.chunk = name;
      this.start = offset;
      if (this.window.length < length) {
        throw new VtlError(
          'ERR_IMAGE',
          `${this.label}: ${where}: record truncated (${this.window.length} of ${length} bytes present at ${offset})`,
        );
      }
    }
    const at = offset - this.start;
    return this.window.subarray(at, at + length);
  }

  /** The current window is left: its buffer becomes the spare unless a caller may keep views. */
  private retire(): void {
    if (this.current !== null && !this.shared) this.spare = this.current;
    this.current = null;
    this.shared = false;
  }
}

/**
 * Write-behind for the data path: records are copied into a staging buffer (a drive in buffered
 * mode, SSC-4 5.2 "buffered mode") and appended with one call per buffer, so 4 KiB blocks do not
 * cost a system call each. Two staging buffers alternate: one fills while the other is being
 * appended, so disk writes overlap with the next commands arriving.
 *
 * Each flush job writes in a fixed order — chunk data, then filemark list, then index — so a
 * process killed between two writes leaves index and filemark list at most as long as the
 * data, which the open-time reconciliation (recovery.ts) relies on. Chunk data is written at
 * its offset (over the bytes of an earlier pass when the store can write in place, see
 * CartridgeStore.write); index and filemark list are appended. Partitions share one
 * write-behind: a staging buffer holds records for one chunk file of one partition.
 */
import { ByteWriter } from '../../util/bytes.js';
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore } from './types.js';
import {
  encodeFilemarkEntry,
  encodeIndexEntry,
  FILEMARK_ENTRY_SIZE,
  INDEX_ENTRY_SIZE,
  type IndexEntry,
} from './index-file.js';
import { encodeRecordHeader, RECORD_HEADER_SIZE } from './record.js';

/** Where staged records go: a chunk file and its partition's index and filemark list. */
export interface StageTarget {
  readonly chunk: string;
  readonly index: string;
  readonly filemarks: string;
}

interface Staging {
  data: Buffer;
  dataLength: number;
  index: Buffer;
  indexLength: number;
  filemarks: number[];
  target: StageTarget;
  /** Chunk offset of the first staged record. */
  offset: number;
}

export class WriteBehind {
  private readonly spare: Staging[] = [];
  private current: Staging | null = null;
  private inflight: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private readonly indexCapacity: number;

  constructor(
    private readonly store: CartridgeStore,
    private readonly label: string,
    private readonly bufferSize: number,
  ) {
    // Every record is at least a header, so a buffer never holds more than this many entries.
    this.indexCapacity = Math.max(64, Math.floor(bufferSize / RECORD_HEADER_SIZE)) * INDEX_ENTRY_SIZE;
  }

  /** Bytes of record data staged and not yet handed to the store. */
  get stagedBytes(): number {
    return this.current?.dataLength ?? 0;
  }

  /**
   * Stages one record to be written at `offset` of `target.chunk`. Resolves once the record is
   * staged (or, for a record larger than the staging buffer, once it has been written).
   */
  async stage(
    target: StageTarget,
    offset: number,
    entry: IndexEntry,
    record: { objectNumber: number; epoch: number; flags?: number; keyId?: number },
    payload: Buffer,
  ): Promise<void> {
    this.throwIfFailed();
    const recordLength = RECORD_HEADER_SIZE + payload.length;
    const fields = {
      kind: entry.kind,
      objectNumber: record.objectNumber,
      epoch: record.epoch,
      flags: record.flags ?? 0,
      keyId: record.keyId ?? 0,
    };
    let s = this.current;
    if (
      s !== null &&
      (s.target !== target ||
        s.offset + s.dataLength !== offset ||
        s.dataLength + recordLength > this.bufferSize)
    ) {
      this.submit();
      s = null;
    }
    if (recordLength > this.bufferSize) {
      // Larger than a staging buffer: write directly and wait, so the caller's buffer is not
      // referenced after this promise resolves.
      const header = encodeRecordHeader(fields, payload);
      const idx = Buffer.allocUnsafe(INDEX_ENTRY_SIZE);
      encodeIndexEntry(new ByteWriter(idx), 0, entry);
      const fm = entry.kind === 'filemark' ? [record.objectNumber] : [];
      this.chain(async () => {
        await this.writeData(target.chunk, offset, [header, payload]);
        await this.appendMeta(target, idx, fm);
      });
      await this.drain();
      return;
    }
    if (s === null) s = this.current = await this.take(target, offset);
    encodeRecordHeader(fields, payload, s.data, s.dataLength);
    payload.copy(s.data, s.dataLength + RECORD_HEADER_SIZE);
    s.dataLength += recordLength;
    encodeIndexEntry(new ByteWriter(s.index), s.indexLength, entry);
    s.indexLength += INDEX_ENTRY_SIZE;
    if (entry.kind === 'filemark') s.filemarks.push(record.objectNumber);
    if (s.dataLength >= this.bufferSize || s.indexLength + INDEX_ENTRY_SIZE > s.index.length) this.submit();
  }

  /** Cuts a file after everything staged before has been written (in order with the writes). */
  truncateAfterWrites(name: string, length: number): void {
    this.submit();
    this.chain(() => this.store.truncate(name, length));
  }

  /** Hands everything staged to the store and waits until it has been appended. */
  async drain(): Promise<void> {
    this.submit();
    await this.inflight;
    this.throwIfFailed();
  }

  /** Drops what is staged (what a crash would lose) after in-flight appends finish. */
  async discard(): Promise<void> {
    this.current = null;
    await this.inflight;
  }

  private throwIfFailed(): void {
    if (this.failure !== null) {
      throw new VtlError(
        'ERR_IMAGE',
        `${this.label}: an earlier write failed; unload and reload the cartridge to recover`,
        { cause: this.failure },
      );
    }
  }

  private async take(target: StageTarget, offset: number): Promise<Staging> {
    let s = this.spare.pop();
    if (s === undefined) {
      // At most two buffers: wait for the one in flight rather than allocate a third.
      if (this.spare.length === 0 && this.buffers >= 2) {
        await this.inflight;
        this.throwIfFailed();
        s = this.spare.pop();
      }
      if (s === undefined) {
        this.buffers++;
        s = {
          data: Buffer.allocUnsafe(this.bufferSize),
          dataLength: 0,
          index: Buffer.allocUnsafe(this.indexCapacity),
          indexLength: 0,
          filemarks: [],
          target,
          offset,
        };
      }
    }
    s.target = target;
    s.offset = offset;
    s.dataLength = 0;
    s.indexLength = 0;
    s.filemarks.length = 0;
    return s;
  }

  private buffers = 0;

  private submit(): void {
    const s = this.current;
    if (s === null) return;
    this.current = null;
    if (s.dataLength === 0) {
      this.spare.push(s);
      return;
    }
    this.chain(async () => {
      try {
        await this.writeData(s.target.chunk, s.offset, [s.data.subarray(0, s.dataLength)]);
        await this.appendMeta(s.target, s.index.subarray(0, s.indexLength), s.filemarks);
      } finally {
        this.spare.push(s);
      }
    });
  }

  /** In place when the store can; else an append (the image has cut the file at `offset`). */
  private async writeData(name: string, offset: number, parts: Buffer[]): Promise<void> {
    if (this.store.write) await this.store.write(name, offset, parts);
    else await this.store.append(name, parts);
  }

  private async appendMeta(target: StageTarget, index: Buffer, filemarks: readonly number[]): Promise<void> {
    if (filemarks.length > 0) {
      const fm = new ByteWriter(filemarks.length * FILEMARK_ENTRY_SIZE);
      filemarks.forEach((objectNumber, i) => encodeFilemarkEntry(fm, i * FILEMARK_ENTRY_SIZE, objectNumber));
      await this.store.append(target.filemarks, fm.buf);
    }
    await this.store.append(target.index, index);
  }

  private chain(job: () => Promise<void>): void {
    this.inflight = this.inflight.then(async () => {
      if (this.failure !== null) return;
      try {
        await job();
      } catch (err) {
        this.failure = err;
      }
    });
  }
}

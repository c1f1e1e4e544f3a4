/**
 * Tape semantics (SSC-4) over one cartridge store: a head position in logical objects, reads
 * served sequentially through read-ahead, writes appended through write-behind, and positioning
 * answered from the on-disk index and the in-memory filemark list without scanning.
 *
 * Memory held per image is bounded: two staging buffers, one read-ahead window, one window of
 * index entries, the filemark list (one number per filemark) and one size per chunk file.
 */
import { VtlError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import type {
  CartridgeMeta,
  CartridgeStore,
  ReadOptions,
  ReadResult,
  SpaceResult,
  TapeImage,
  TapePosition,
} from './types.js';
import { CHECKPOINT_FILE, chunkFileName, filemarkFileName, indexFileName, META_FILE } from './label.js';
import {
  FILE_HEADER_SIZE,
  FILEMARK_ENTRY_SIZE,
  INDEX_ENTRY_SIZE,
  IndexReader,
  lowerBound,
} from './index-file.js';
import { MAX_BLOCK_LENGTH, RECORD_HEADER_SIZE } from './record.js';
import { ReadAhead } from './read-ahead.js';
import { WriteBehind } from './write-behind.js';
import { encodeCheckpoint, type Checkpoint, type ImageState } from './recovery.js';

/** Capacity a filemark uses in bytesUsed: the size of its record header on disk. */
export const FILEMARK_CAPACITY_COST = RECORD_HEADER_SIZE;

export interface TapeImageOptions {
  /** Bytes read from a chunk at once when reading sequentially (default 4 MiB). */
  readAhead?: number;
  /** Bytes of records staged before one append (default 4 MiB). */
  writeBehind?: number;
  logger?: Logger;
}

export const DEFAULT_READ_AHEAD = 4 << 20;
export const DEFAULT_WRITE_BEHIND = 4 << 20;

export function encodeMeta(meta: CartridgeMeta): Buffer {
  return Buffer.from(JSON.stringify(meta, null, 2) + '\n');
}

const isWorm = (meta: CartridgeMeta): boolean => meta.mediaType.endsWith('-WORM');

export class ChunkedTapeImage implements TapeImage {
  readonly label: string;
  private readonly idxName: string;
  private readonly fmName: string;
  private count: number;
  private used: number;
  private readonly filemarks: number[];
  private readonly chunkSizes: number[];
  private checkpoint: Checkpoint | null;
  private readonly index: IndexReader;
  private readonly readAhead: ReadAhead;
  private readonly writeBehind: WriteBehind;
  // The head: object number, and for pos < count the record's chunk/offset and bytes before it.
  private pos = 0;
  private posChunk = 1;
  private posOffset = 0;
  private posBytes = 0;
  private closed = false;
  private dirty = false;
  private metaDirty = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: CartridgeStore,
    readonly meta: CartridgeMeta,
    state: ImageState,
    options: TapeImageOptions = {},
  ) {
    this.label = meta.label;
    this.idxName = indexFileName(this.label);
    this.fmName = filemarkFileName(this.label);
    this.count = state.count;
    this.used = state.used;
    this.filemarks = state.filemarks;
    this.chunkSizes = state.chunkSizes;
    this.checkpoint = state.checkpoint;
    this.index = new IndexReader(store, this.idxName);
    this.readAhead = new ReadAhead(
      store,
      this.label,
      bufferOption('readAhead', options.readAhead ?? DEFAULT_READ_AHEAD),
    );
    this.writeBehind = new WriteBehind(
      store,
      this.label,
      bufferOption('writeBehind', options.writeBehind ?? DEFAULT_WRITE_BEHIND),
    );
    // A loaded tape starts at BOP; object 0, when recorded, is the first record of chunk 1.
    if (this.count === 0) this.setHeadAtEod(0);
  }

  get objectCount(): number {
    return this.count;
  }

  get bytesUsed(): number {
    return this.used;
  }

  get remaining(): number {
    return Math.max(0, this.meta.capacity - this.used);
  }

  position(): TapePosition {
    return {
      partition: 0,
      objectNumber: this.pos,
      fileNumber: lowerBound(this.filemarks, this.pos),
      bop: this.pos === 0,
      eod: this.pos === this.count,
      beyondEarlyWarning: this.posBytes >= this.meta.capacity - this.meta.earlyWarning,
    };
  }

  /** Sizes of the in-memory structures, for tests that check memory does not grow per block. */
  footprint(): {
    filemarks: number;
    chunks: number;
    indexCacheEntries: number;
    readAheadBytes: number;
    stagedBytes: number;
  } {
    return {
      filemarks: this.filemarks.length,
      chunks: this.chunkSizes.length,
      indexCacheEntries: this.index.cachedEntries,
      readAheadBytes: this.readAhead.windowBytes,
      stagedBytes: this.writeBehind.stagedBytes,
    };
  }

  rewind(): Promise<void> {
    return this.run(async () => {
      await this.seek(0);
    });
  }

  locate(objectNumber: number): Promise<SpaceResult> {
    return this.run(async () => {
      if (!Number.isSafeInteger(objectNumber) || objectNumber < 0) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `locate: object number ${objectNumber} is not valid`);
      }
      const target = Math.min(objectNumber, this.count);
      const moved = Math.abs(target - this.pos);
      await this.seek(target);
      return { moved, stop: objectNumber > this.count ? 'eod' : null };
    });
  }

  locateFile(fileNumber: number): Promise<SpaceResult> {
    return this.run(async () => {
      if (!Number.isSafeInteger(fileNumber) || fileNumber < 0) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `locateFile: file number ${fileNumber} is not valid`);
      }
      const found = fileNumber === 0 || fileNumber - 1 < this.filemarks.length;
      const target = fileNumber === 0 ? 0 : found ? this.filemarks[fileNumber - 1] + 1 : this.count;
      const moved = Math.abs(target - this.pos);
      await this.seek(target);
      return { moved, stop: found ? null : 'eod' };
    });
  }

  read(options?: ReadOptions): Promise<ReadResult> {
    const transient = options?.transient === true;
    return this.run(async (): Promise<ReadResult> => {
      await this.writeBehind.drain();
      // SSC-4 4.2.6: at EOD the read ends with BLANK CHECK and the position does not change.
      if (this.pos >= this.count) return { kind: 'eod' };
      const chunkEnd = this.chunkSizes[this.posChunk - 1] ?? 0;
      const rec = await this.readAhead.readRecord(
        this.posChunk,
        this.posOffset,
        this.pos,
        chunkEnd,
        transient,
      );
      this.pos++;
      this.posOffset += rec.size;
      if (this.posOffset >= this.chunkSizes[this.posChunk - 1] && this.posChunk < this.chunkSizes.length) {
        this.posChunk++;
        this.posOffset = 0;
      }
      if (rec.header.kind === 'filemark') {
        this.posBytes += FILEMARK_CAPACITY_COST;
        return { kind: 'filemark' };
      }
      this.posBytes += rec.payload.length;
      this.meta.counters.bytesRead += rec.payload.length;
      this.metaDirty = true;
      return { kind: 'data', data: rec.payload };
    });
  }

  spaceBlocks(count: number): Promise<SpaceResult> {
    return this.run(async (): Promise<SpaceResult> => {
      checkCount('spaceBlocks', count);
      const from = this.pos;
      if (count > 0) {
        // SSC-4 7.8: forward SPACE stops after (EOM side of) a filemark, or at EOD.
        const k = lowerBound(this.filemarks, from);
        const fm = k < this.filemarks.length ? this.filemarks[k] : Infinity;
        const limit = Math.min(fm, this.count);
        if (from + count <= limit) {
          await this.seek(from + count);
          return { moved: count, stop: null };
        }
        if (fm < this.count) {
          await this.seek(fm + 1);
          return { moved: fm - from, stop: 'filemark' };
        }
        await this.seek(this.count);
        return { moved: this.count - from, stop: 'eod' };
      }
      if (count < 0) {
        // Backward SPACE stops on the BOP side of a filemark, or at BOP.
        const k = lowerBound(this.filemarks, from) - 1;
        const fm = k >= 0 ? this.filemarks[k] : -1;
        if (from + count > fm) {
          await this.seek(from + count);
          return { moved: -count, stop: null };
        }
        await this.seek(Math.max(fm, 0));
        return fm >= 0 ? { moved: from - fm - 1, stop: 'filemark' } : { moved: from, stop: 'bop' };
      }
      return { moved: 0, stop: null };
    });
  }

  spaceFilemarks(count: number): Promise<SpaceResult> {
    return this.run(async (): Promise<SpaceResult> => {
      checkCount('spaceFilemarks', count);
      const k = lowerBound(this.filemarks, this.pos); // filemarks before the head
      if (count > 0) {
        const target = k + count - 1;
        if (target < this.filemarks.length) {
          await this.seek(this.filemarks[target] + 1);
          return { moved: count, stop: null };
        }
        await this.seek(this.count);
        return { moved: this.filemarks.length - k, stop: 'eod' };
      }
      if (count < 0) {
        const target = k + count;
        if (target >= 0) {
          await this.seek(this.filemarks[target]);
          return { moved: -count, stop: null };
        }
        await this.seek(0);
        return { moved: k, stop: 'bop' };
      }
      return { moved: 0, stop: null };
    });
  }

  spaceToEod(): Promise<void> {
    return this.run(() => this.seek(this.count));
  }

  writeBlock(data: Buffer): Promise<void> {
    return this.run(async () => {
      if (data.length > MAX_BLOCK_LENGTH) {
        throw new VtlError(
          'ERR_INVALID_ARGUMENT',
          `block of ${data.length} bytes exceeds ${MAX_BLOCK_LENGTH}`,
        );
      }
      await this.prepareWrite('write');
      if (this.used + data.length > this.meta.capacity) {
        throw new VtlError(
          'ERR_STATE',
          `${this.label}: VOLUME OVERFLOW: ${data.length} bytes do not fit (${this.remaining} remaining)`,
        );
      }
      await this.append('data', data);
      this.meta.counters.bytesWritten += data.length;
      this.metaDirty = true;
    });
  }

  writeFilemarks(count: number): Promise<void> {
    return this.run(async () => {
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `writeFilemarks: count ${count} is not valid`);
      }
      // SSC-4 7.4: WRITE FILEMARKS with a count of 0 only flushes the buffer.
      if (count === 0) {
        await this.writeBehind.drain();
        return;
      }
      await this.prepareWrite('write filemarks');
      for (let i = 0; i < count; i++) {
        this.filemarks.push(this.count);
        await this.append('filemark', EMPTY);
      }
    });
  }

  erase(): Promise<void> {
    return this.run(async () => {
      await this.prepareWrite('erase');
      this.dirty = true;
    });
  }

  sync(): Promise<void> {
    return this.run(() => this.syncNow());
  }

  saveMeta(): Promise<void> {
    return this.run(async () => {
      await this.store.writeAtomic(META_FILE, encodeMeta(this.meta));
      this.metaDirty = false;
    });
  }

  close(): Promise<void> {
    return this.run(async () => {
      await this.syncNow();
      await this.store.close();
      this.closed = true;
    });
  }

  /**
   * Releases the store without flushing or syncing: what a crash leaves behind (staged
   * records are lost). For fault injection in test harnesses.
   */
  abandon(): Promise<void> {
    return this.run(async () => {
      await this.writeBehind.discard();
      await this.store.close();
      this.closed = true;
    });
  }

  private async syncNow(): Promise<void> {
    await this.writeBehind.drain();
    if (this.dirty) await this.store.sync();
    const last = this.chunkSizes.length;
    const cp = {
      objects: this.count,
      chunk: Math.max(last, 1),
      size: last > 0 ? this.chunkSizes[last - 1] : 0,
    };
    if (this.checkpoint === null || this.checkpoint.objects !== cp.objects || this.dirty) {
      await this.store.writeAtomic(CHECKPOINT_FILE, encodeCheckpoint(cp));
      this.checkpoint = cp;
    }
    if (this.metaDirty) {
      await this.store.writeAtomic(META_FILE, encodeMeta(this.meta));
      this.metaDirty = false;
    }
    this.dirty = false;
  }

  /** Write-path checks, then SSC-4 4.2.8: writing anywhere but EOD discards what follows. */
  private async prepareWrite(what: string): Promise<void> {
    if (this.meta.writeProtected)
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: cartridge is write-protected`);
    if (this.meta.mediaType === 'CLEANING')
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: cleaning cartridge`);
    if (this.pos < this.count) await this.truncateAtHead(what);
  }

  private async truncateAtHead(what: string): Promise<void> {
    await this.writeBehind.drain();
    const p = this.pos;
    const k = lowerBound(this.filemarks, p);
    // SSC-4 4.2.11 (WORM): recorded data may not be overwritten; filemarks between the last
    // data block and EOD may be.
    if (isWorm(this.meta) && this.filemarks.length - k !== this.count - p) {
      throw new VtlError(
        'ERR_STATE',
        `${this.label}: ${what}: WORM cartridge; data after object ${p} cannot be overwritten`,
      );
    }
    this.readAhead.invalidate();
    this.index.invalidate();
    // Data first, then index, then filemark list: see recovery.ts for why this order.
    const c = this.posChunk;
    const o = this.posOffset;
    for (let n = this.chunkSizes.length; n > c; n--) await this.store.unlink(chunkFileName(this.label, n));
    if (o === 0) {
      await this.store.unlink(chunkFileName(this.label, c));
      this.chunkSizes.length = c - 1;
    } else {
      await this.store.truncate(chunkFileName(this.label, c), o);
      this.chunkSizes.length = c;
      this.chunkSizes[c - 1] = o;
    }
    await this.store.truncate(this.idxName, FILE_HEADER_SIZE + p * INDEX_ENTRY_SIZE);
    if (k < this.filemarks.length) {
      this.filemarks.length = k;
      await this.store.truncate(this.fmName, FILE_HEADER_SIZE + k * FILEMARK_ENTRY_SIZE);
    }
    this.count = p;
    this.used = this.posBytes;
    this.dirty = true;
    // Keep the checkpoint a true statement ("everything before it is durable") once the data
    // it described is gone.
    if (this.checkpoint !== null && this.checkpoint.objects > p) {
      this.checkpoint = { objects: p, chunk: c, size: o };
      await this.store.writeAtomic(CHECKPOINT_FILE, encodeCheckpoint(this.checkpoint));
    }
  }

  private async append(kind: 'data' | 'filemark', payload: Buffer): Promise<void> {
    const recordLength = RECORD_HEADER_SIZE + payload.length;
    let c = this.chunkSizes.length;
    // A record never spans chunks; one larger than chunkSize gets a chunk of its own.
    if (c === 0 || this.chunkSizes[c - 1] + recordLength > this.meta.chunkSize) {
      this.chunkSizes.push(0);
      c++;
    }
    const offset = this.chunkSizes[c - 1];
    const entry = {
      chunk: c,
      offset,
      payloadLength: payload.length,
      kind,
      flags: 0,
      bytesBefore: this.used,
      fileNumber: kind === 'filemark' ? this.filemarks.length - 1 : this.filemarks.length,
    } as const;
    this.chunkSizes[c - 1] = offset + recordLength;
    this.used += kind === 'filemark' ? FILEMARK_CAPACITY_COST : payload.length;
    this.count++;
    this.setHeadAtEod(this.count);
    this.dirty = true;
    await this.writeBehind.stage(c, entry, this.count - 1, payload);
  }

  private setHeadAtEod(count: number): void {
    this.pos = count;
    this.posBytes = this.used;
    const last = this.chunkSizes.length;
    this.posChunk = Math.max(last, 1);
    this.posOffset = last > 0 ? this.chunkSizes[last - 1] : 0;
  }

  /** Moves the head to object `p` (0..count) using the index; no data is read. */
  private async seek(p: number): Promise<void> {
    await this.writeBehind.drain();
    if (p >= this.count) {
      this.setHeadAtEod(this.count);
      return;
    }
    const e = await this.index.get(p);
    this.pos = p;
    this.posChunk = e.chunk;
    this.posOffset = e.offset;
    this.posBytes = e.bytesBefore;
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.closed) throw new VtlError('ERR_STATE', `${this.label}: the tape image is closed`);
      return fn();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}

const EMPTY = Buffer.alloc(0);

function bufferOption(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1 || v > 1 << 30) {
    throw new VtlError('ERR_INVALID_ARGUMENT', `${name} ${v} is not an integer in 1..${1 << 30}`);
  }
  return v;
}

function checkCount(what: string, count: number): void {
  if (!Number.isSafeInteger(count))
    throw new VtlError('ERR_INVALID_ARGUMENT', `${what}: count ${count} is not an integer`);
}

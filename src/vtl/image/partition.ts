/**
 * One partition of a tape image (SSC-4 4.2.3): its records, index, filemark list, EOD and head.
 * Reads are served through the image's read-ahead, writes staged in its write-behind, and
 * positioning is answered from the on-disk index and the in-memory filemark list without
 * scanning.
 *
 * Chunk files are overwritten in place and the tape is cut logically: rewinding and writing a
 * tape again reuses the bytes (and the page cache) of the earlier pass instead of cutting the
 * files and allocating them anew, as a file-backed target that overwrites its file would. The
 * logical end lives in the index and the checkpoint; the write epoch in each record tells
 * recovery which records past the checkpoint belong to the current pass (recovery.ts explains
 * why that is enough). A chunk's stale tail is cut when writing moves on to the next chunk, so
 * only the chunk holding EOD and the chunks after it hold bytes past the logical end; `close`
 * trims those when they are clearly wasteful (TRIM_THRESHOLD).
 */
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore, ReadResult, SpaceResult } from './types.js';
import type { PartitionFiles } from './label.js';
import {
  FILE_HEADER_SIZE,
  FILEMARK_ENTRY_SIZE,
  INDEX_ENTRY_SIZE,
  IndexReader,
  lowerBound,
} from './index-file.js';
import { MAX_EPOCH, RECORD_HEADER_SIZE } from './record.js';
import type { ReadAhead } from './read-ahead.js';
import type { StageTarget, WriteBehind } from './write-behind.js';
import { encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import type { ImageState } from './recovery.js';

/** Capacity a filemark uses in bytesUsed: the size of its record header on disk. */
export const FILEMARK_CAPACITY_COST = RECORD_HEADER_SIZE;

/** Bytes past EOD above which `close` gives them back to the file system. */
export const TRIM_THRESHOLD = 64 << 20;

/** What a partition needs from the image around it. */
export interface PartitionContext {
  readonly store: CartridgeStore;
  readonly label: string;
  readonly chunkSize: number;
  readonly readAhead: ReadAhead;
  readonly writeBehind: WriteBehind;
  readonly worm: boolean;
}

export class PartitionTrack {
  count: number;
  used: number;
  readonly filemarks: number[];
  /** Logical size of each chunk up to the one holding EOD. */
  readonly chunkSizes: number[];
  /** Size on disk of every chunk file. */
  private readonly physical: number[];
  private checkpoint: Checkpoint | null;
  private epoch: number;
  /** Bytes past EOD may hold records of the current epoch: start a new one before writing. */
  private beyond: boolean;
  private readonly index: IndexReader;
  private readonly inPlace: boolean;
  private target: StageTarget | null = null;
  // The head: object number, and for pos < count the record's chunk/offset and bytes before it.
  pos = 0;
  private posChunk = 1;
  private posOffset = 0;
  posBytes = 0;
  /** Written since the last sync (data, or a cut that is not durable yet). */
  dirty = false;

  constructor(
    private readonly ctx: PartitionContext,
    readonly files: PartitionFiles,
    /** Capacity of this partition in bytes, and its early-warning distance. */
    public capacity: number,
    public earlyWarning: number,
    state: ImageState,
  ) {
    this.count = state.count;
    this.used = state.used;
    this.filemarks = state.filemarks;
    this.chunkSizes = state.chunkSizes;
    this.physical = state.physical;
    this.checkpoint = state.checkpoint;
    this.epoch = state.epoch;
    this.beyond = state.beyond;
    this.index = new IndexReader(ctx.store, files.index);
    this.inPlace = typeof ctx.store.write === 'function';
    this.setHeadAtEod();
  }

  get fileNumber(): number {
    return lowerBound(this.filemarks, this.pos);
  }

  get beyondEarlyWarning(): boolean {
    return this.posBytes >= this.capacity - this.earlyWarning;
  }

  get cachedIndexEntries(): number {
    return this.index.cachedEntries;
  }

  /** Object 0, when recorded, is the first record of chunk 1: BOP needs no index lookup. */
  headToBop(): void {
    if (this.count === 0) {
      this.setHeadAtEod();
      return;
    }
    this.pos = 0;
    this.posChunk = 1;
    this.posOffset = 0;
    this.posBytes = 0;
  }

  /** Moves the head to object `p` (0..count) using the index; no data is read. */
  async seek(p: number): Promise<void> {
    await this.ctx.writeBehind.drain();
    if (p >= this.count) {
      this.setHeadAtEod();
      return;
    }
    const e = await this.index.get(p);
    this.pos = p;
    this.posChunk = e.chunk;
    this.posOffset = e.offset;
    this.posBytes = e.bytesBefore;
  }

  async read(transient: boolean): Promise<ReadResult> {
    await this.ctx.writeBehind.drain();
    // SSC-4 4.2.6: at EOD the read ends with BLANK CHECK and the position does not change.
    if (this.pos >= this.count) return { kind: 'eod' };
    const chunkEnd = this.chunkSizes[this.posChunk - 1] ?? 0;
    const rec = await this.ctx.readAhead.readRecord(
      this.files.chunk(this.posChunk),
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
    const { flags, keyId } = rec.header;
    return flags === 0
      ? { kind: 'data', data: rec.payload }
      : { kind: 'data', data: rec.payload, flags, keyId };
  }

  async spaceBlocks(count: number): Promise<SpaceResult> {
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
  }

  async spaceFilemarks(count: number): Promise<SpaceResult> {
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
  }

  /**
   * Write-path positioning (SSC-4 4.2.8): writing anywhere but EOD discards what follows, and a
   * write over bytes already on disk starts a new epoch first. `erase` always starts one.
   */
  async prepareWrite(what: string, erase = false): Promise<void> {
    if (this.pos < this.count) {
      const k = lowerBound(this.filemarks, this.pos);
      // SSC-4 4.2.11 (WORM): recorded data may not be overwritten; filemarks between the last
      // data block and EOD may be.
      if (this.ctx.worm && this.filemarks.length - k !== this.count - this.pos) {
        throw new VtlError(
          'ERR_STATE',
          `${this.ctx.label}: ${what}: WORM cartridge; data after object ${this.pos} cannot be overwritten`,
        );
      }
      await this.cut();
    } else if (erase || this.beyond) {
      await this.cut();
    }
  }

  /**
   * Cuts the tape at the head and starts a new epoch. Order: everything before the head is
   * made durable; the checkpoint with the new epoch is written (atomically) before any record
   * of that epoch; then index and filemark list are cut. A crash at any point leaves either the
   * old tape or the cut one (recovery.ts).
   */
  async cut(): Promise<void> {
    const { store, writeBehind, readAhead } = this.ctx;
    await writeBehind.drain();
    if (this.epoch >= MAX_EPOCH) {
      throw new VtlError(
        'ERR_IMAGE',
        `${this.ctx.label}: partition ${this.files.partition}: write epochs exhausted`,
      );
    }
    if (this.dirty) await store.sync();
    const p = this.pos;
    const k = lowerBound(this.filemarks, p);
    readAhead.invalidate();
    this.index.invalidate();
    let c = this.posChunk;
    const o = this.posOffset;
    if (!this.inPlace) {
      // No in-place writes: cut the files (data first, then index; see recovery.ts).
      for (let n = this.physical.length; n > c; n--) await store.unlink(this.files.chunk(n));
      if (o === 0) await store.unlink(this.files.chunk(c));
      else await store.truncate(this.files.chunk(c), o);
      this.physical.length = o === 0 ? c - 1 : c;
      if (o > 0) this.physical[c - 1] = o;
    }
    // A cut at the start of a chunk leaves EOD at the end of the previous one.
    if (o === 0) c--;
    this.chunkSizes.length = Math.max(c, 0);
    if (o > 0) this.chunkSizes[c - 1] = o;
    this.count = p;
    this.used = this.posBytes;
    this.epoch++;
    this.checkpoint = this.eodCheckpoint();
    await store.writeAtomic(this.files.checkpoint, encodeCheckpoint(this.checkpoint));
    await store.truncate(this.files.index, FILE_HEADER_SIZE + p * INDEX_ENTRY_SIZE);
    if (k < this.filemarks.length) {
      this.filemarks.length = k;
      await store.truncate(this.files.filemarks, FILE_HEADER_SIZE + k * FILEMARK_ENTRY_SIZE);
    }
    this.beyond = false;
    this.target = null;
    this.dirty = true;
    this.setHeadAtEod();
  }

  async append(kind: 'data' | 'filemark', payload: Buffer, flags = 0, keyId = 0): Promise<void> {
    const recordLength = RECORD_HEADER_SIZE + payload.length;
    let c = this.chunkSizes.length;
    // A record never spans chunks; one larger than chunkSize gets a chunk of its own.
    if (c === 0 || this.chunkSizes[c - 1] + recordLength > this.ctx.chunkSize) {
      if (c > 0 && this.physical[c - 1] > this.chunkSizes[c - 1]) {
        // Leaving a chunk: its bytes past its last record are an earlier pass's; cut them so
        // every chunk before the one holding EOD ends with its last record.
        this.ctx.writeBehind.truncateAfterWrites(this.files.chunk(c), this.chunkSizes[c - 1]);
        this.physical[c - 1] = this.chunkSizes[c - 1];
      }
      this.chunkSizes.push(0);
      c++;
      this.target = null;
    }
    const offset = this.chunkSizes[c - 1];
    const entry = {
      chunk: c,
      offset,
      payloadLength: payload.length,
      kind,
      flags,
      bytesBefore: this.used,
      fileNumber: kind === 'filemark' ? this.filemarks.length - 1 : this.filemarks.length,
    } as const;
    this.chunkSizes[c - 1] = offset + recordLength;
    if (this.physical.length < c) this.physical.push(0);
    this.physical[c - 1] = Math.max(this.physical[c - 1], offset + recordLength);
    this.used += kind === 'filemark' ? FILEMARK_CAPACITY_COST : payload.length;
    this.count++;
    this.setHeadAtEod();
    this.dirty = true;
    this.target ??= { chunk: this.files.chunk(c), index: this.files.index, filemarks: this.files.filemarks };
    await this.ctx.writeBehind.stage(
      this.target,
      offset,
      entry,
      { objectNumber: this.count - 1, epoch: this.epoch, flags, keyId },
      payload,
    );
  }

  /** Writes the checkpoint when it changed; the caller has synced the store. */
  async checkpointNow(): Promise<void> {
    const cp = this.eodCheckpoint();
    const old = this.checkpoint;
    if (old === null || old.objects !== cp.objects || old.chunk !== cp.chunk || old.size !== cp.size) {
      await this.ctx.store.writeAtomic(this.files.checkpoint, encodeCheckpoint(cp));
      this.checkpoint = cp;
    }
    this.dirty = false;
  }

  /** Bytes on disk past EOD (an earlier, longer pass). */
  get staleBytes(): number {
    const last = this.chunkSizes.length;
    let n = last > 0 ? this.physical[last - 1] - this.chunkSizes[last - 1] : 0;
    for (let c = Math.max(last, 0); c < this.physical.length; c++) n += this.physical[c];
    return n;
  }

  /**
   * Gives bytes past EOD back to the file system when they are clearly wasteful (at least
   * `threshold`); below that they stay for the next pass to overwrite. Never touches records.
   */
  async trim(threshold = TRIM_THRESHOLD): Promise<boolean> {
    if (this.staleBytes < threshold) return false;
    const { store } = this.ctx;
    await this.ctx.writeBehind.drain();
    const last = this.chunkSizes.length;
    for (let n = this.physical.length; n > last; n--) await store.unlink(this.files.chunk(n));
    this.physical.length = last;
    if (last > 0 && this.physical[last - 1] > this.chunkSizes[last - 1]) {
      await store.truncate(this.files.chunk(last), this.chunkSizes[last - 1]);
      this.physical[last - 1] = this.chunkSizes[last - 1];
    }
    this.beyond = false;
    this.ctx.readAhead.invalidate();
    return true;
  }

  /** Every file of this partition (for FORMAT MEDIUM). */
  async unlinkAll(): Promise<void> {
    const { store } = this.ctx;
    for (let n = this.physical.length; n > 0; n--) await store.unlink(this.files.chunk(n));
    await store.unlink(this.files.index);
    await store.unlink(this.files.filemarks);
    await store.unlink(this.files.checkpoint);
  }

  private eodCheckpoint(): Checkpoint {
    const last = this.chunkSizes.length;
    return {
      objects: this.count,
      chunk: Math.max(last, 1),
      size: last > 0 ? this.chunkSizes[last - 1] : 0,
      epoch: this.epoch,
    };
  }

  private setHeadAtEod(): void {
    this.pos = this.count;
    this.posBytes = this.used;
    const last = this.chunkSizes.length;
    this.posChunk = Math.max(last, 1);
    this.posOffset = last > 0 ? this.chunkSizes[last - 1] : 0;
  }
}

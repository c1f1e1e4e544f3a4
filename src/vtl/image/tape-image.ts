/**
 * Tape semantics (SSC-4) over one cartridge store of 1..4 partitions (partition.ts holds the
 * per-partition state and positioning). Commands run one at a time in arrival order; the head
 * is in one partition at a time, like a drive's.
 *
 * Memory held per image is bounded: two staging buffers and one read-ahead window shared by all
 * partitions, and per partition one window of index entries, the filemark list (one number per
 * filemark) and one size per chunk file.
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
  WriteOptions,
} from './types.js';
import { MAX_PARTITIONS, META_FILE, partitionFiles } from './label.js';
import { KNOWN_RECORD_FLAGS, MAX_BLOCK_LENGTH } from './record.js';
import { ReadAhead } from './read-ahead.js';
import { WriteBehind } from './write-behind.js';
import { reconcile, type ImageState } from './recovery.js';
import {
  FILEMARK_CAPACITY_COST,
  PartitionTrack,
  TRIM_THRESHOLD,
  type PartitionContext,
} from './partition.js';

export { FILEMARK_CAPACITY_COST, TRIM_THRESHOLD } from './partition.js';

export interface TapeImageOptions {
  /** Bytes read from a chunk at once when reading sequentially (default 4 MiB). */
  readAhead?: number;
  /** Bytes of records staged before one write (default 4 MiB). */
  writeBehind?: number;
  /** Bytes past EOD per partition that `close` gives back to the file system (default 64 MiB). */
  trimThreshold?: number;
  logger?: Logger;
}

export const DEFAULT_READ_AHEAD = 4 << 20;
export const DEFAULT_WRITE_BEHIND = 4 << 20;

export function encodeMeta(meta: CartridgeMeta): Buffer {
  return Buffer.from(JSON.stringify(meta, null, 2) + '\n');
}

const isWorm = (meta: CartridgeMeta): boolean => meta.mediaType.endsWith('-WORM');

/** Capacity of each partition: the layout in cartridge.json, or one partition of it all. */
export function partitionSizes(meta: CartridgeMeta): number[] {
  return meta.partitions !== undefined && meta.partitions.length > 0 ? [...meta.partitions] : [meta.capacity];
}

/** Early warning of a partition: the cartridge's, in proportion to the partition's share. */
export function earlyWarningOf(meta: CartridgeMeta, capacity: number): number {
  if (meta.capacity === 0 || capacity === meta.capacity) return meta.earlyWarning;
  return Math.floor((meta.earlyWarning * capacity) / meta.capacity);
}

export class ChunkedTapeImage implements TapeImage {
  readonly label: string;
  private readonly ctx: PartitionContext;
  private parts: PartitionTrack[];
  private cur: PartitionTrack;
  private closed = false;
  private metaDirty = false;
  private readonly trimThreshold: number;
  private queue: Promise<unknown> = Promise.resolve();

  /** `states` holds each partition's reconciled state, in partition order (recovery.ts). */
  constructor(
    store: CartridgeStore,
    readonly meta: CartridgeMeta,
    states: ImageState | ImageState[],
    options: TapeImageOptions = {},
  ) {
    this.label = meta.label;
    this.trimThreshold = options.trimThreshold ?? TRIM_THRESHOLD;
    this.ctx = {
      store,
      label: this.label,
      chunkSize: meta.chunkSize,
      worm: isWorm(meta),
      readAhead: new ReadAhead(
        store,
        this.label,
        bufferOption('readAhead', options.readAhead ?? DEFAULT_READ_AHEAD),
      ),
      writeBehind: new WriteBehind(
        store,
        this.label,
        bufferOption('writeBehind', options.writeBehind ?? DEFAULT_WRITE_BEHIND),
      ),
    };
    const list = Array.isArray(states) ? states : [states];
    const sizes = partitionSizes(meta);
    if (list.length !== sizes.length) {
      throw new VtlError('ERR_IMAGE', `${this.label}: ${sizes.length} partitions, ${list.length} reconciled`);
    }
    this.parts = sizes.map((cap, p) => this.track(p, cap, list[p]));
    // A loaded tape starts at BOP of partition 0.
    this.cur = this.parts[0];
    this.cur.headToBop();
  }

  get objectCount(): number {
    return this.cur.count;
  }

  get bytesUsed(): number {
    return this.cur.used;
  }

  get remaining(): number {
    return Math.max(0, this.cur.capacity - this.cur.used);
  }

  get partitionCount(): number {
    return this.parts.length;
  }

  partitionCapacities(): number[] {
    return this.parts.map((t) => t.capacity);
  }

  partitionBytesUsed(): number[] {
    return this.parts.map((t) => t.used);
  }

  position(): TapePosition {
    const t = this.cur;
    return {
      partition: t.files.partition,
      objectNumber: t.pos,
      fileNumber: t.fileNumber,
      bop: t.pos === 0,
      eod: t.pos === t.count,
      beyondEarlyWarning: t.beyondEarlyWarning,
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
      filemarks: this.cur.filemarks.length,
      chunks: this.cur.chunkSizes.length,
      indexCacheEntries: this.cur.cachedIndexEntries,
      readAheadBytes: this.ctx.readAhead.windowBytes,
      stagedBytes: this.ctx.writeBehind.stagedBytes,
    };
  }

  /** Bytes on disk past EOD in each partition (left by a longer earlier pass, reused by the next). */
  staleBytes(): number[] {
    return this.parts.map((t) => t.staleBytes);
  }

  rewind(): Promise<void> {
    return this.run(async () => {
      await this.switchTo(0);
      await this.cur.seek(0);
    });
  }

  locate(objectNumber: number, partition?: number): Promise<SpaceResult> {
    return this.run(async () => {
      if (!Number.isSafeInteger(objectNumber) || objectNumber < 0) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `locate: object number ${objectNumber} is not valid`);
      }
      const from = partition === undefined || partition === this.cur.files.partition ? this.cur.pos : 0;
      if (partition !== undefined) await this.switchTo(partition);
      const t = this.cur;
      const target = Math.min(objectNumber, t.count);
      await t.seek(target);
      return { moved: Math.abs(target - from), stop: objectNumber > t.count ? 'eod' : null };
    });
  }

  locateFile(fileNumber: number): Promise<SpaceResult> {
    return this.run(async () => {
      if (!Number.isSafeInteger(fileNumber) || fileNumber < 0) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `locateFile: file number ${fileNumber} is not valid`);
      }
      const t = this.cur;
      const found = fileNumber === 0 || fileNumber - 1 < t.filemarks.length;
      const target = fileNumber === 0 ? 0 : found ? t.filemarks[fileNumber - 1] + 1 : t.count;
      const moved = Math.abs(target - t.pos);
      await t.seek(target);
      return { moved, stop: found ? null : 'eod' };
    });
  }

  read(options?: ReadOptions): Promise<ReadResult> {
    const transient = options?.transient === true;
    return this.run(async (): Promise<ReadResult> => {
      const r = await this.cur.read(transient);
      if (r.kind === 'data') {
        this.meta.counters.bytesRead += r.data.length;
        this.metaDirty = true;
      }
      return r;
    });
  }

  spaceBlocks(count: number): Promise<SpaceResult> {
    return this.run(() => {
      checkCount('spaceBlocks', count);
      return this.cur.spaceBlocks(count);
    });
  }

  spaceFilemarks(count: number): Promise<SpaceResult> {
    return this.run(() => {
      checkCount('spaceFilemarks', count);
      return this.cur.spaceFilemarks(count);
    });
  }

  spaceToEod(): Promise<void> {
    return this.run(() => this.cur.seek(this.cur.count));
  }

  writeBlock(data: Buffer, options?: WriteOptions): Promise<void> {
    return this.run(async () => {
      if (data.length > MAX_BLOCK_LENGTH) {
        throw new VtlError(
          'ERR_INVALID_ARGUMENT',
          `block of ${data.length} bytes exceeds ${MAX_BLOCK_LENGTH}`,
        );
      }
      const flags = options?.flags ?? 0;
      const keyId = options?.keyId ?? 0;
      if ((flags & ~KNOWN_RECORD_FLAGS) !== 0 || !Number.isInteger(flags)) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `record flags 0x${flags.toString(16)} are not defined`);
      }
      if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffff_ffff) {
        throw new VtlError('ERR_INVALID_ARGUMENT', `key id ${keyId} is not a u32`);
      }
      await this.prepareWrite('write');
      const t = this.cur;
      if (t.used + data.length > t.capacity) {
        throw new VtlError(
          'ERR_STATE',
          `${this.label}: VOLUME OVERFLOW: ${data.length} bytes do not fit (${this.remaining} remaining)`,
        );
      }
      await t.append('data', data, flags, keyId);
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
        await this.ctx.writeBehind.drain();
        return;
      }
      await this.prepareWrite('write filemarks');
      const t = this.cur;
      for (let i = 0; i < count; i++) {
        t.filemarks.push(t.count);
        await t.append('filemark', EMPTY);
      }
    });
  }

  erase(): Promise<void> {
    return this.run(() => this.prepareWrite('erase', true));
  }

  format(partitionSizes: number[] | null): Promise<void> {
    return this.run(() => this.formatNow(partitionSizes));
  }

  sync(): Promise<void> {
    return this.run(() => this.syncNow());
  }

  saveMeta(): Promise<void> {
    return this.run(async () => {
      await this.ctx.store.writeAtomic(META_FILE, encodeMeta(this.meta));
      this.metaDirty = false;
    });
  }

  /** Syncs, gives wastefully large stale tails back (partition.ts TRIM_THRESHOLD), releases. */
  close(): Promise<void> {
    return this.run(async () => {
      await this.syncNow();
      let trimmed = false;
      for (const t of this.parts) trimmed = (await t.trim(this.trimThreshold)) || trimmed;
      if (trimmed) await this.ctx.store.sync();
      await this.ctx.store.close();
      this.closed = true;
    });
  }

  /**
   * Releases the store without flushing or syncing: what a crash leaves behind (staged
   * records are lost). For fault injection in test harnesses.
   */
  abandon(): Promise<void> {
    return this.run(async () => {
      await this.ctx.writeBehind.discard();
      await this.ctx.store.close();
      this.closed = true;
    });
  }

  private track(p: number, capacity: number, state: ImageState): PartitionTrack {
    return new PartitionTrack(
      this.ctx,
      partitionFiles(this.label, p),
      capacity,
      earlyWarningOf(this.meta, capacity),
      state,
    );
  }

  /**
   * FORMAT MEDIUM: partitions that stay are erased from BOP (a new epoch; their bytes are
   * overwritten by the next pass, as on any rewind and write), the files of the others are
   * deleted, then the new layout is written to cartridge.json. A crash on the way leaves the
   * old layout with some partitions already empty: never a mix of old and new records.
   */
  private async formatNow(sizes: number[] | null): Promise<void> {
    const what = 'format';
    if (this.meta.writeProtected)
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: cartridge is write-protected`);
    if (this.meta.mediaType === 'CLEANING')
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: cleaning cartridge`);
    if (this.ctx.worm)
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: WORM cartridge cannot be formatted`);
    const layout = sizes === null ? [this.meta.capacity] : checkLayout(this.label, sizes, this.meta.capacity);
    const { store } = this.ctx;
    await this.ctx.writeBehind.drain();
    const keep = Math.min(this.parts.length, layout.length);
    for (const t of this.parts.slice(0, keep)) {
      await t.seek(0);
      await t.cut();
    }
    const names = await store.files();
    for (let p = keep; p < MAX_PARTITIONS; p++) {
      const files = partitionFiles(this.label, p);
      const chunks = names
        .map((n) => files.parseChunk(n))
        .filter((n): n is number => n !== null)
        .sort((a, b) => b - a);
      for (const n of chunks) await store.unlink(files.chunk(n));
      for (const name of [files.index, files.filemarks, files.checkpoint]) await store.unlink(name);
    }
    await store.sync();
    if (sizes === null) delete this.meta.partitions;
    else this.meta.partitions = layout;
    await store.writeAtomic(META_FILE, encodeMeta(this.meta));
    this.metaDirty = false;
    const parts = this.parts.slice(0, keep);
    parts.forEach((t, p) => {
      t.capacity = layout[p];
      t.earlyWarning = earlyWarningOf(this.meta, layout[p]);
    });
    for (let p = keep; p < layout.length; p++) {
      const state = await reconcile(store, this.label, partitionFiles(this.label, p), FILEMARK_CAPACITY_COST);
      parts.push(this.track(p, layout[p], state));
    }
    this.parts = parts;
    this.cur = parts[0];
    this.cur.headToBop();
  }

  /** Makes partition `p` current (its head is positioned by the caller). */
  private async switchTo(p: number): Promise<void> {
    if (!Number.isSafeInteger(p) || p < 0 || p >= this.parts.length) {
      throw new VtlError(
        'ERR_INVALID_ARGUMENT',
        `${this.label}: partition ${p} does not exist (the cartridge has ${this.parts.length})`,
      );
    }
    await this.ctx.writeBehind.drain();
    this.cur = this.parts[p];
  }

  private async syncNow(): Promise<void> {
    await this.ctx.writeBehind.drain();
    if (this.parts.some((t) => t.dirty)) await this.ctx.store.sync();
    for (const t of this.parts) await t.checkpointNow();
    if (this.metaDirty) {
      await this.ctx.store.writeAtomic(META_FILE, encodeMeta(this.meta));
      this.metaDirty = false;
    }
  }

  /** Write-path checks, then positioning rules of the partition (partition.ts prepareWrite). */
  private async prepareWrite(what: string, erase = false): Promise<void> {
    if (this.meta.writeProtected)
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: cartridge is write-protected`);
    if (this.meta.mediaType === 'CLEANING')
      throw new VtlError('ERR_STATE', `${this.label}: ${what}: cleaning cartridge`);
    await this.cur.prepareWrite(what, erase);
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

/** A partition layout: 1..MAX_PARTITIONS sizes of at least one byte, within the capacity. */
export function checkLayout(label: string, sizes: unknown, capacity: number): number[] {
  const fail = (why: string): never => {
    throw new VtlError('ERR_INVALID_ARGUMENT', `${label}: partition layout ${JSON.stringify(sizes)}: ${why}`);
  };
  if (!Array.isArray(sizes) || sizes.length < 1 || sizes.length > MAX_PARTITIONS)
    return fail(`give 1..${MAX_PARTITIONS} partition sizes`);
  const list = sizes as unknown[];
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      fail(`partition ${i} size is not a positive integer`);
  });
  const total = (list as number[]).reduce((a, b) => a + b, 0);
  if (total > capacity) fail(`${total} bytes exceed the capacity of ${capacity}`);
  return [...(list as number[])];
}

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

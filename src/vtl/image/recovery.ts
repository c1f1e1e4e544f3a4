/**
 * Open-time reconciliation of a cartridge's files (DESIGN.md "The tape image": a crash may lose
 * unsynced writes but never corrupts the image). The chunk files are the truth; the index and
 * filemark list are derived and are cut back or rebuilt to match them:
 *
 * 1. chunk files must be numbered 1..N without gaps; empty trailing chunks are removed;
 * 2. index entries pointing past the end of the data (a process killed between cutting the data
 *    and cutting the index) are dropped, found by binary search since entries are in data order;
 * 3. the last remaining entry is checked against its record (header, object number, CRC); if it
 *    does not match (power loss with unsynced pages), the last sync checkpoint is tried, else
 *    the index is rebuilt from the start;
 * 4. records after the last indexed one are scanned (headers + CRC) and indexed; the first bad
 *    or incomplete record ends the tape and the data is cut there — unless it lies before the
 *    end of the data the last sync made durable, in which case nothing is cut and the open
 *    fails with ERR_IMAGE naming the chunk and offset (never destroy synced data).
 */
import { ByteWriter } from '../../util/bytes.js';
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore } from './types.js';
import {
  CHECKPOINT_FILE,
  chunkFileName,
  filemarkFileName,
  indexFileName,
  parseChunkFileName,
} from './label.js';
import {
  decodeFilemarkEntry,
  decodeIndexEntry,
  encodeFileHeader,
  encodeFilemarkEntry,
  encodeIndexEntry,
  FILE_HEADER_SIZE,
  FILEMARK_ENTRY_SIZE,
  FILEMARK_MAGIC,
  INDEX_ENTRY_SIZE,
  INDEX_MAGIC,
  IndexReader,
  isFileHeader,
  type IndexEntry,
} from './index-file.js';
import { checkRecordCrc, decodeRecordHeader, RECORD_HEADER_SIZE } from './record.js';

/** Where the data stood at the last sync: everything before it is durable. */
export interface Checkpoint {
  readonly objects: number;
  readonly chunk: number;
  readonly size: number;
}

export function encodeCheckpoint(cp: Checkpoint): Buffer {
  return Buffer.from(JSON.stringify({ formatVersion: 1, ...cp }) + '\n');
}

export function parseCheckpoint(buf: Buffer): Checkpoint | null {
  try {
    const v = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    const ok = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (v.formatVersion !== 1 || !ok(v.objects) || !ok(v.chunk) || !ok(v.size)) return null;
    return { objects: v.objects, chunk: v.chunk, size: v.size };
  } catch {
    return null;
  }
}

export interface ImageState {
  count: number;
  used: number;
  filemarks: number[];
  /** Size of chunk c at [c - 1]; one entry per chunk file, not per block. */
  chunkSizes: number[];
  checkpoint: Checkpoint | null;
  /** What was repaired, for the log; empty when the files were consistent. */
  repairs: string[];
}

const SCAN_WINDOW = 4 << 20;

export async function reconcile(
  store: CartridgeStore,
  label: string,
  filemarkCost: number,
): Promise<ImageState> {
  const idxName = indexFileName(label);
  const fmName = filemarkFileName(label);
  const repairs: string[] = [];
  const cost = (e: { kind: string; payloadLength: number }): number =>
    e.kind === 'filemark' ? filemarkCost : e.payloadLength;

  // 1. Chunk files.
  const numbers = (await store.files())
    .map((f) => parseChunkFileName(label, f))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
  numbers.forEach((n, i) => {
    if (n !== i + 1)
      throw new VtlError('ERR_IMAGE', `${label}: chunk file ${chunkFileName(label, i + 1)} is missing`);
  });
  const chunkSizes: number[] = [];
  for (const n of numbers) chunkSizes.push(await store.size(chunkFileName(label, n)));
  while (chunkSizes.length > 0 && chunkSizes[chunkSizes.length - 1] === 0) {
    await store.unlink(chunkFileName(label, chunkSizes.length));
    repairs.push(`removed empty chunk ${chunkFileName(label, chunkSizes.length)}`);
    chunkSizes.pop();
  }

  const cpBytes =
    (await store.size(CHECKPOINT_FILE)) >= 0 ? await store.read(CHECKPOINT_FILE, 0, 4096) : null;
  const checkpoint = cpBytes === null ? null : parseCheckpoint(cpBytes);

  // 2. Index entries within the data.
  const idxSize = await store.size(idxName);
  const idxHead =
    idxSize >= FILE_HEADER_SIZE ? await store.read(idxName, 0, FILE_HEADER_SIZE) : Buffer.alloc(0);
  let indexed = isFileHeader(idxHead, INDEX_MAGIC, INDEX_ENTRY_SIZE)
    ? Math.floor((idxSize - FILE_HEADER_SIZE) / INDEX_ENTRY_SIZE)
    : -1;
  if (indexed < 0) {
    if (idxSize >= 0) repairs.push(`index ${idxName} unreadable; rebuilding`);
    else if (chunkSizes.length > 0) repairs.push(`index ${idxName} missing; rebuilding`);
    await store.unlink(idxName);
    await store.append(idxName, encodeFileHeader(INDEX_MAGIC, INDEX_ENTRY_SIZE));
    indexed = 0;
  } else if (idxSize !== FILE_HEADER_SIZE + indexed * INDEX_ENTRY_SIZE) {
    await store.truncate(idxName, FILE_HEADER_SIZE + indexed * INDEX_ENTRY_SIZE);
    repairs.push(`cut a partial entry off ${idxName}`);
  }
  const index = new IndexReader(store, idxName);
  const entryAt = async (i: number): Promise<IndexEntry | null> => {
    try {
      return await index.get(i);
    } catch {
      return null;
    }
  };
  const within = (e: IndexEntry | null): boolean =>
    e !== null &&
    e.chunk <= chunkSizes.length &&
    e.offset + RECORD_HEADER_SIZE + e.payloadLength <= chunkSizes[e.chunk - 1];
  const verify = async (i: number): Promise<IndexEntry | null> => {
    const e = await entryAt(i);
    if (e === null || !within(e)) return null;
    const rec = await store.read(
      chunkFileName(label, e.chunk),
      e.offset,
      RECORD_HEADER_SIZE + e.payloadLength,
    );
    const h = decodeRecordHeader(rec);
    if (
      typeof h === 'string' ||
      h.objectNumber !== i ||
      h.kind !== e.kind ||
      h.payloadLength !== e.payloadLength
    ) {
      return null;
    }
    return checkRecordCrc(rec, h, rec.subarray(RECORD_HEADER_SIZE)) === null ? e : null;
  };

  let good = indexed;
  let mismatch = false;
  if (good > 0 && !within(await entryAt(good - 1))) {
    let lo = 0; // entries [0, lo) are within the data
    let hi = good - 1; // entry hi is not
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (within(await entryAt(mid))) lo = mid + 1;
      else hi = mid;
    }
    good = lo;
  }
  // 3. The last kept entry must match its record.
  let last = good > 0 ? await verify(good - 1) : null;
  if (good > 0 && last === null) {
    const hint = checkpoint === null ? 0 : Math.min(checkpoint.objects, good - 1);
    last = hint > 0 ? await verify(hint - 1) : null;
    good = last === null ? 0 : hint;
    mismatch = true;
    repairs.push(`index did not match the data; re-indexing from object ${good}`);
  }
  if (good < indexed) {
    await store.truncate(idxName, FILE_HEADER_SIZE + good * INDEX_ENTRY_SIZE);
    if (!mismatch) repairs.push(`dropped ${indexed - good} index entries beyond the data`);
  }
  index.invalidate();

  // Filemark list: must hold exactly the filemarks before `good`.
  const expectedFilemarks = last === null ? 0 : last.fileNumber + (last.kind === 'filemark' ? 1 : 0);
  let filemarks = await readFilemarks(store, fmName);
  let fmChanged = false;
  if (filemarks !== null) {
    const keep = filemarks.findIndex((n) => n >= good);
    if (keep >= 0) {
      filemarks.length = keep;
      fmChanged = true;
    }
  }
  if (filemarks === null || filemarks.length !== expectedFilemarks || !ascending(filemarks)) {
    if (good > 0) repairs.push(`filemark list ${fmName} rebuilt from the index`);
    filemarks = await filemarksFromIndex(store, idxName, good);
    fmChanged = true;
  }

  // 4. Scan and index the tail.
  const state: ImageState = {
    count: good,
    used: last === null ? 0 : last.bytesBefore + cost(last),
    filemarks,
    chunkSizes,
    checkpoint,
    repairs,
  };
  const start =
    last === null
      ? { chunk: 1, offset: 0 }
      : { chunk: last.chunk, offset: last.offset + RECORD_HEADER_SIZE + last.payloadLength };
  const fmBefore = filemarks.length;
  const scanned = await scanTail(store, label, state, start, cost);
  if (scanned > 0) repairs.push(`indexed ${scanned} records after the last indexed one`);
  if (fmChanged || filemarks.length !== fmBefore) {
    const w = new ByteWriter(FILE_HEADER_SIZE + filemarks.length * FILEMARK_ENTRY_SIZE);
    w.bytes(encodeFileHeader(FILEMARK_MAGIC, FILEMARK_ENTRY_SIZE));
    filemarks.forEach((n, i) => encodeFilemarkEntry(w, FILE_HEADER_SIZE + i * FILEMARK_ENTRY_SIZE, n));
    await store.unlink(fmName);
    await store.append(fmName, w.buf);
  }
  if (repairs.length > 0) await store.sync();
  return state;
}

function ascending(list: readonly number[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i] <= list[i - 1]) return false;
  return true;
}

async function readFilemarks(store: CartridgeStore, fmName: string): Promise<number[] | null> {
  const size = await store.size(fmName);
  if (size < FILE_HEADER_SIZE) return null;
  const buf = await store.read(fmName, 0, size);
  if (!isFileHeader(buf, FILEMARK_MAGIC, FILEMARK_ENTRY_SIZE)) return null;
  const out: number[] = [];
  for (let at = FILE_HEADER_SIZE; at + FILEMARK_ENTRY_SIZE <= buf.length; at += FILEMARK_ENTRY_SIZE) {
    out.push(decodeFilemarkEntry(buf, at));
  }
  return out;
}

/** Recovery path only: streams the first `count` index entries and collects the filemarks. */
async function filemarksFromIndex(store: CartridgeStore, idxName: string, count: number): Promise<number[]> {
  const out: number[] = [];
  const per = 2048;
  for (let first = 0; first < count; first += per) {
    const n = Math.min(per, count - first);
    const buf = await store.read(idxName, FILE_HEADER_SIZE + first * INDEX_ENTRY_SIZE, n * INDEX_ENTRY_SIZE);
    for (let i = 0; i < n; i++) {
      const e = decodeIndexEntry(buf, i * INDEX_ENTRY_SIZE);
      if (typeof e !== 'string' && e.kind === 'filemark') out.push(first + i);
    }
  }
  return out;
}

/** Indexes the records from `start` on; cuts the data at the first bad one. Returns records added. */
async function scanTail(
  store: CartridgeStore,
  label: string,
  state: ImageState,
  start: { chunk: number; offset: number },
  cost: (e: { kind: string; payloadLength: number }) => number,
): Promise<number> {
  const idxName = indexFileName(label);
  const sizes = state.chunkSizes;
  const pending = new ByteWriter(1024 * INDEX_ENTRY_SIZE);
  let pendingCount = 0;
  let added = 0;
  const flush = async (): Promise<void> => {
    if (pendingCount > 0)
      await store.append(idxName, pending.buf.subarray(0, pendingCount * INDEX_ENTRY_SIZE));
    pendingCount = 0;
  };
  let chunk = start.chunk;
  let offset = start.offset;
  let win: { chunk: number; start: number; buf: Buffer } = { chunk: 0, start: 0, buf: Buffer.alloc(0) };
  const bytes = async (length: number): Promise<Buffer> => {
    if (chunk !== win.chunk || offset < win.start || offset + length > win.start + win.buf.length) {
      const buf = await store.read(chunkFileName(label, chunk), offset, Math.max(SCAN_WINDOW, length));
      win = { chunk, start: offset, buf };
    }
    return win.buf.subarray(offset - win.start, offset - win.start + length);
  };
  while (chunk <= sizes.length) {
    const size = sizes[chunk - 1];
    if (offset >= size) {
      chunk++;
      offset = 0;
      continue;
    }
    let problem: string | null = null;
    let incomplete = false;
    const headerBytes = await bytes(Math.min(RECORD_HEADER_SIZE, size - offset));
    const h = headerBytes.length < RECORD_HEADER_SIZE ? 'incomplete header' : decodeRecordHeader(headerBytes);
    if (typeof h === 'string') {
      problem = h;
      incomplete = headerBytes.length < RECORD_HEADER_SIZE;
    } else if (h.objectNumber !== state.count) {
      problem = `record is object ${h.objectNumber}, expected ${state.count}`;
    } else if (offset + RECORD_HEADER_SIZE + h.payloadLength > size) {
      problem = `incomplete record (${size - offset} of ${RECORD_HEADER_SIZE + h.payloadLength} bytes)`;
      incomplete = true;
    } else {
      const rec = await bytes(RECORD_HEADER_SIZE + h.payloadLength);
      problem = checkRecordCrc(rec, h, rec.subarray(RECORD_HEADER_SIZE));
    }
    if (problem !== null || typeof h === 'string') {
      await flush();
      await cutAt(store, label, state, chunk, offset, problem ?? 'bad record', incomplete);
      break;
    }
    const entry: IndexEntry = {
      chunk,
      offset,
      payloadLength: h.payloadLength,
      kind: h.kind,
      flags: h.flags,
      bytesBefore: state.used,
      fileNumber: state.filemarks.length,
    };
    encodeIndexEntry(pending, pendingCount * INDEX_ENTRY_SIZE, entry);
    pendingCount++;
    if (pendingCount === 1024) await flush();
    if (h.kind === 'filemark') state.filemarks.push(state.count);
    state.used += cost(entry);
    state.count++;
    added++;
    offset += RECORD_HEADER_SIZE + h.payloadLength;
  }
  await flush();
  return added;
}

async function cutAt(
  store: CartridgeStore,
  label: string,
  state: ImageState,
  chunk: number,
  offset: number,
  problem: string,
  incomplete: boolean,
): Promise<void> {
  const sizes = state.chunkSizes;
  const where = `chunk ${chunkFileName(label, chunk)} offset ${offset}`;
  const cp = state.checkpoint;
  const synced = cp !== null && (chunk < cp.chunk || (chunk === cp.chunk && offset < cp.size));
  const atEnd = incomplete && chunk === sizes.length;
  if (synced && !atEnd) {
    throw new VtlError(
      'ERR_IMAGE',
      `${label}: ${where}: ${problem}; this data was synced before, so nothing was cut (repair or restore the cartridge)`,
    );
  }
  for (let c = sizes.length; c > chunk; c--) await store.unlink(chunkFileName(label, c));
  if (offset === 0) {
    await store.unlink(chunkFileName(label, chunk));
    sizes.length = chunk - 1;
  } else {
    await store.truncate(chunkFileName(label, chunk), offset);
    sizes.length = chunk;
    sizes[chunk - 1] = offset;
  }
  state.repairs.push(`cut the data at ${where} (${problem}); the tape ends at object ${state.count}`);
}

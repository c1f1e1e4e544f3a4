/**
 * Open-time reconciliation of one partition's files (DESIGN.md "The tape image": a crash may
 * lose unsynced writes but never corrupts the image). The chunk files are the truth; the index
 * and filemark list are derived and are cut back or rebuilt to match them.
 *
 * Chunk files are overwritten in place and the tape is cut logically (tape-image.ts), so bytes
 * of earlier passes may lie past the logical end, as whole records with valid CRCs. What tells
 * them apart is the write epoch in every record header and in the checkpoint:
 *
 * - The checkpoint (written atomically at every sync and at every epoch change) says: objects
 *   before `objects` are durable, and the current epoch is `epoch`.
 * - A new epoch is started, and made durable in the checkpoint, before its first record is
 *   written, whenever a write starts with bytes already on disk past the head: a write or
 *   erase anywhere but EOD, and the first write after a load that found bytes past EOD. The
 *   image first syncs everything before the head, so the new checkpoint's `objects` is the
 *   head. Hence records at or after `objects` can only be records of the current pass if they
 *   carry the current epoch, and every record carrying it was written in this pass, after
 *   `objects`, contiguously (an epoch is never reused and its writes are plain appends; a cut
 *   starts a new one).
 * - So the tail scan accepts a record at object n >= `objects` only if its epoch is the current
 *   one; below `objects` (synced data) it accepts any epoch not above the current one and
 *   never cuts (a damaged synced record fails the open instead). The first record that fails
 *   ends the tape: stale ones from an earlier pass are simply past the logical end.
 * - Without a checkpoint (never synced, so all epoch 0 — or the file was lost or not copied
 *   along) the scan relies on epochs never decreasing along a tape and stops at the first
 *   decrease. That is a best effort: it cannot tell where an erase without records after it
 *   ended the tape, which only the checkpoint records.
 *
 * Steps:
 * 1. chunk files must be numbered 1..N without gaps; empty trailing chunks are removed;
 * 2. index entries pointing past the end of the data (a process killed between cutting the data
 *    and cutting the index) are dropped, found by binary search since entries are in data order;
 * 3. entries past the checkpoint are dropped (their records are checked again by the scan:
 *    after a power loss an entry may point at a record of an earlier pass); the last remaining
 *    entry is checked against its record, else the index is rebuilt from the start;
 * 4. records after the last indexed one are scanned (headers + CRC + epoch) and indexed; the
 *    first one that is not the next record of the current pass ends the tape — when it lies
 *    before the end of the data the last sync made durable, nothing is cut and the open fails
 *    with ERR_IMAGE naming the chunk and offset (never destroy synced data);
 * 5. when the state found differs from the checkpoint (records recovered past it, or a cut),
 *    the recovered records are synced and a checkpoint of the new state is written, so a later
 *    crash starts from it. Bytes past the logical end stay (they are overwritten or trimmed
 *    later); the image starts a new epoch before writing over them.
 */
import { ByteWriter } from '../../util/bytes.js';
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore } from './types.js';
import type { PartitionFiles } from './label.js';
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
import { encodeCheckpoint, parseCheckpoint, type Checkpoint } from './checkpoint.js';

export interface ImageState {
  count: number;
  used: number;
  filemarks: number[];
  /** Logical size of chunk c at [c - 1], up to the chunk holding EOD; one entry per chunk file. */
  chunkSizes: number[];
  /** Size on disk of every chunk file (longer than chunkSizes when an earlier pass was longer). */
  physical: number[];
  checkpoint: Checkpoint | null;
  /** Current write epoch. */
  epoch: number;
  /** Bytes lie on disk past EOD: the next write must start a new epoch (see the file comment). */
  beyond: boolean;
  /** What was repaired, for the log; empty when the files were consistent. */
  repairs: string[];
}

const SCAN_WINDOW = 4 << 20;

interface Verified extends IndexEntry {
  readonly epoch: number;
}

export async function reconcile(
  store: CartridgeStore,
  label: string,
  files: PartitionFiles,
  filemarkCost: number,
): Promise<ImageState> {
  const idxName = files.index;
  const fmName = files.filemarks;
  const repairs: string[] = [];
  const cost = (e: { kind: string; payloadLength: number }): number =>
    e.kind === 'filemark' ? filemarkCost : e.payloadLength;

  // 1. Chunk files.
  const numbers = (await store.files())
    .map((f) => files.parseChunk(f))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
  numbers.forEach((n, i) => {
    if (n !== i + 1) throw new VtlError('ERR_IMAGE', `${label}: chunk file ${files.chunk(i + 1)} is missing`);
  });
  const physical: number[] = [];
  for (const n of numbers) physical.push(await store.size(files.chunk(n)));
  while (physical.length > 0 && physical[physical.length - 1] === 0) {
    await store.unlink(files.chunk(physical.length));
    repairs.push(`removed empty chunk ${files.chunk(physical.length)}`);
    physical.pop();
  }

  const cpBytes =
    (await store.size(files.checkpoint)) >= 0 ? await store.read(files.checkpoint, 0, 4096) : null;
  const checkpoint = cpBytes === null ? null : parseCheckpoint(cpBytes);
  const epoch = checkpoint?.epoch ?? 0;
  const synced = checkpoint?.objects ?? 0;

  // 2. Index entries within the data.
  const idxSize = await store.size(idxName);
  const idxHead =
    idxSize >= FILE_HEADER_SIZE ? await store.read(idxName, 0, FILE_HEADER_SIZE) : Buffer.alloc(0);
  let indexed = isFileHeader(idxHead, INDEX_MAGIC, INDEX_ENTRY_SIZE)
    ? Math.floor((idxSize - FILE_HEADER_SIZE) / INDEX_ENTRY_SIZE)
    : -1;
  if (indexed < 0) {
    if (idxSize >= 0) repairs.push(`index ${idxName} unreadable; rebuilding`);
    else if (physical.length > 0) repairs.push(`index ${idxName} missing; rebuilding`);
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
    e.chunk <= physical.length &&
    e.offset + RECORD_HEADER_SIZE + e.payloadLength <= physical[e.chunk - 1];
  const verify = async (i: number): Promise<Verified | null> => {
    const e = await entryAt(i);
    if (e === null || !within(e)) return null;
    const rec = await store.read(files.chunk(e.chunk), e.offset, RECORD_HEADER_SIZE + e.payloadLength);
    const h = decodeRecordHeader(rec);
    if (
      typeof h === 'string' ||
      h.objectNumber !== i ||
      h.kind !== e.kind ||
      h.payloadLength !== e.payloadLength ||
      h.epoch > epoch ||
      (i >= synced && h.epoch !== epoch)
    ) {
      return null;
    }
    return checkRecordCrc(rec, h, rec.subarray(RECORD_HEADER_SIZE)) === null
      ? { ...e, epoch: h.epoch }
      : null;
  };

  let good = indexed;
  if (good > 0 && !within(await entryAt(good - 1))) {
    let lo = 0; // entries [0, lo) are within the data
    let hi = good - 1; // entry hi is not
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (within(await entryAt(mid))) lo = mid + 1;
      else hi = mid;
    }
    good = lo;
    repairs.push(`dropped ${indexed - good} index entries beyond the data`);
  }
  // 3. Entries past the synced data are not trusted: a power loss may have kept an entry and
  // lost its record's pages, leaving an earlier pass's record (valid CRC, same object number)
  // in its place. Those records are checked again by the scan. The last trusted entry must
  // match its record, else the index is rebuilt.
  if (good > synced) {
    repairs.push(`re-checking ${good - synced} records written after the last sync`);
    good = synced;
  }
  const last = good > 0 ? await verify(good - 1) : null;
  if (good > 0 && last === null) {
    good = 0;
    repairs.push('index did not match the data; re-indexing from object 0');
  }
  if (good < indexed) await store.truncate(idxName, FILE_HEADER_SIZE + good * INDEX_ENTRY_SIZE);
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
    chunkSizes: [],
    physical,
    checkpoint,
    epoch,
    beyond: false,
    repairs,
  };
  const start =
    last === null
      ? { chunk: 1, offset: 0 }
      : { chunk: last.chunk, offset: last.offset + RECORD_HEADER_SIZE + last.payloadLength };
  const fmBefore = filemarks.length;
  const scan = await scanTail(store, label, files, state, start, last?.epoch ?? 0, cost);
  if (scan.added > 0) repairs.push(`indexed ${scan.added} records after the last indexed one`);
  if (checkpoint === null && state.epoch > 0) {
    repairs.push(`${files.checkpoint} missing; write epoch ${state.epoch} taken from the records`);
  }
  if (fmChanged || filemarks.length !== fmBefore) {
    const w = new ByteWriter(FILE_HEADER_SIZE + filemarks.length * FILEMARK_ENTRY_SIZE);
    w.bytes(encodeFileHeader(FILEMARK_MAGIC, FILEMARK_ENTRY_SIZE));
    filemarks.forEach((n, i) => encodeFilemarkEntry(w, FILE_HEADER_SIZE + i * FILEMARK_ENTRY_SIZE, n));
    await store.unlink(fmName);
    await store.append(fmName, w.buf);
  }
  // The logical end: chunks before the one holding EOD end where their last record ends.
  const end = scan.end;
  state.chunkSizes = physical.slice(0, end.chunk - 1);
  if (end.offset > 0) state.chunkSizes.push(end.offset);
  await trimChunkTails(store, files, state, checkpoint?.chunk ?? 1);
  const lastChunk = state.chunkSizes.length;
  state.beyond =
    physical.length > lastChunk ||
    (lastChunk > 0 && physical[lastChunk - 1] > state.chunkSizes[lastChunk - 1]);

  // 5. Make what was found the durable starting point.
  const cp: Checkpoint = {
    objects: state.count,
    chunk: Math.max(lastChunk, 1),
    size: lastChunk > 0 ? state.chunkSizes[lastChunk - 1] : 0,
    epoch: state.epoch,
  };
  const same =
    checkpoint !== null &&
    checkpoint.objects === cp.objects &&
    checkpoint.chunk === cp.chunk &&
    checkpoint.size === cp.size;
  if (!same && (checkpoint !== null || state.count > 0)) {
    const from = Math.min(checkpoint?.chunk ?? 1, cp.chunk);
    const touched = [idxName, fmName];
    for (let c = from; c <= lastChunk; c++) touched.push(files.chunk(c));
    await store.sync(touched);
    await store.writeAtomic(files.checkpoint, encodeCheckpoint(cp));
    state.checkpoint = cp;
  } else if (repairs.length > 0) {
    await store.sync();
  }
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

interface ScanResult {
  added: number;
  /** Where EOD is: just after the last record of the tape. */
  end: { chunk: number; offset: number };
}

/**
 * Indexes the records from `start` on, while each is the next record of this pass (see the file
 * comment); the first that is not ends the tape. A stale record of an earlier pass is just
 * past the logical end; a damaged one (torn write) is cut off.
 */
async function scanTail(
  store: CartridgeStore,
  label: string,
  files: PartitionFiles,
  state: ImageState,
  start: { chunk: number; offset: number },
  startEpoch: number,
  cost: (e: { kind: string; payloadLength: number }) => number,
): Promise<ScanResult> {
  const sizes = state.physical;
  const synced = state.checkpoint?.objects ?? 0;
  const pending = new ByteWriter(1024 * INDEX_ENTRY_SIZE);
  let pendingCount = 0;
  let added = 0;
  const flush = async (): Promise<void> => {
    if (pendingCount > 0)
      await store.append(files.index, pending.buf.subarray(0, pendingCount * INDEX_ENTRY_SIZE));
    pendingCount = 0;
  };
  let chunk = start.chunk;
  let offset = start.offset;
  let end = { ...start };
  let lastEpoch = startEpoch;
  let win: { chunk: number; start: number; buf: Buffer } = { chunk: 0, start: 0, buf: Buffer.alloc(0) };
  const bytes = async (length: number): Promise<Buffer> => {
    if (chunk !== win.chunk || offset < win.start || offset + length > win.start + win.buf.length) {
      const buf = await store.read(files.chunk(chunk), offset, Math.max(SCAN_WINDOW, length));
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
    let stale = false;
    const headerBytes = await bytes(Math.min(RECORD_HEADER_SIZE, size - offset));
    const h = headerBytes.length < RECORD_HEADER_SIZE ? 'incomplete header' : decodeRecordHeader(headerBytes);
    if (typeof h === 'string') {
      problem = h;
      incomplete = headerBytes.length < RECORD_HEADER_SIZE;
    } else if (
      state.checkpoint === null ? h.epoch < lastEpoch : state.count >= synced && h.epoch !== state.epoch
    ) {
      // Past the synced data only the current pass counts; anything else is an earlier pass.
      // Without a checkpoint (lost: a cut always writes one) epochs along a tape never
      // decrease, so the first decrease is where an earlier pass begins (best effort).
      stale = true;
      problem = `record of epoch ${h.epoch}, the current epoch is ${state.checkpoint === null ? lastEpoch : state.epoch}`;
    } else if (state.checkpoint !== null && (h.epoch > state.epoch || h.epoch < lastEpoch)) {
      problem = `record epoch ${h.epoch} out of order (previous ${lastEpoch}, current ${state.epoch})`;
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
      const cp = state.checkpoint;
      const atCheckpoint =
        cp !== null && state.count === cp.objects && chunk === cp.chunk && offset === cp.size;
      if (!stale && !atCheckpoint) {
        await cutAt(store, label, files, state, chunk, offset, problem ?? 'bad record', incomplete);
      }
      return { added, end };
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
    lastEpoch = h.epoch;
    if (state.checkpoint === null) state.epoch = Math.max(state.epoch, h.epoch);
    offset += RECORD_HEADER_SIZE + h.payloadLength;
    end = { chunk, offset };
  }
  await flush();
  return { added, end };
}

/**
 * A damaged record past the synced data (a torn write) ends the tape: the data is cut there,
 * physically, so no record of the current epoch is left past EOD. Before the synced end nothing
 * is cut and the open fails.
 */
async function cutAt(
  store: CartridgeStore,
  label: string,
  files: PartitionFiles,
  state: ImageState,
  chunk: number,
  offset: number,
  problem: string,
  incomplete: boolean,
): Promise<void> {
  const sizes = state.physical;
  const where = `chunk ${files.chunk(chunk)} offset ${offset}`;
  const cp = state.checkpoint;
  const synced = cp !== null && (chunk < cp.chunk || (chunk === cp.chunk && offset < cp.size));
  const atEnd = incomplete && chunk === sizes.length;
  if (synced && !atEnd) {
    throw new VtlError(
      'ERR_IMAGE',
      `${label}: ${where}: ${problem}; this data was synced before, so nothing was cut (repair or restore the cartridge)`,
    );
  }
  for (let c = sizes.length; c > chunk; c--) await store.unlink(files.chunk(c));
  if (offset === 0) {
    await store.unlink(files.chunk(chunk));
    sizes.length = chunk - 1;
  } else {
    await store.truncate(files.chunk(chunk), offset);
    sizes.length = chunk;
    sizes[chunk - 1] = offset;
  }
  state.repairs.push(`cut the data at ${where} (${problem}); the tape ends at object ${state.count}`);
}

/**
 * Chunks before the one holding EOD must end where their last record ends (the image cuts a
 * chunk's stale tail before it moves on to the next chunk; a power loss may have lost that cut
 * since the last sync). Their last record is found by binary search in the index.
 */
async function trimChunkTails(
  store: CartridgeStore,
  files: PartitionFiles,
  state: ImageState,
  fromChunk: number,
): Promise<void> {
  const lastChunk = state.chunkSizes.length;
  if (fromChunk >= lastChunk || state.count === 0) return;
  const index = new IndexReader(store, files.index);
  for (let c = Math.max(fromChunk, 1); c < lastChunk; c++) {
    let lo = 0; // entries [0, lo) are in chunks <= c
    let hi = state.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((await index.get(mid)).chunk <= c) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const e = await index.get(lo - 1);
    if (e.chunk !== c) continue;
    const logical = e.offset + RECORD_HEADER_SIZE + e.payloadLength;
    if (state.physical[c - 1] > logical) {
      await store.truncate(files.chunk(c), logical);
      state.repairs.push(`cut stale bytes off ${files.chunk(c)} after its last record (offset ${logical})`);
      state.physical[c - 1] = logical;
      state.chunkSizes[c - 1] = logical;
    }
  }
}

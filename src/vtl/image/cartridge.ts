/**
 * Creating cartridges and loading them as tape images: `cartridge.json` (CartridgeMeta) is
 * validated field by field, then the chunk files are reconciled with the index (recovery.ts)
 * before any tape operation is allowed.
 */
import { VtlError } from '../../util/errors.js';
import type { CartridgeMeta, ImageBackend, MediaType } from './types.js';
import { META_FILE, partitionFiles, validateLabel } from './label.js';
import { reconcile, type ImageState } from './recovery.js';
import {
  checkLayout,
  ChunkedTapeImage,
  encodeMeta,
  FILEMARK_CAPACITY_COST,
  partitionSizes,
  type TapeImageOptions,
} from './tape-image.js';

const TB = 1_000_000_000_000;

/** Native capacities (LTO Ultrium generations; decimal terabytes as the media are labelled). */
export const NATIVE_CAPACITY: Readonly<Record<MediaType, number>> = {
  LTO5: 1.5 * TB,
  LTO6: 2.5 * TB,
  LTO7: 6 * TB,
  LTO8: 12 * TB,
  LTO9: 18 * TB,
  'LTO5-WORM': 1.5 * TB,
  'LTO6-WORM': 2.5 * TB,
  'LTO7-WORM': 6 * TB,
  'LTO8-WORM': 12 * TB,
  'LTO9-WORM': 18 * TB,
  CLEANING: 0,
};

export const MEDIA_TYPES = Object.keys(NATIVE_CAPACITY) as MediaType[];

/** Default chunk file size: 1 GiB keeps file counts small and cloud uploads resumable per chunk. */
export const DEFAULT_CHUNK_SIZE = 1 << 30;
/** Chunk offsets are 32-bit in the index. */
export const MAX_CHUNK_SIZE = 0xffff_ffff;
/** Small chunks are allowed for tests; a record larger than a chunk still gets a chunk of its own. */
export const MIN_CHUNK_SIZE = 64;

/** Default early warning: 1% of capacity before the end of the partition. */
export function defaultEarlyWarning(capacity: number): number {
  return Math.floor(capacity / 100);
}

export interface CreateCartridgeOptions {
  label: string;
  mediaType: MediaType;
  /** Bytes; defaults to the native capacity of the media type. */
  capacity?: number;
  /** Bytes before the end at which early warning starts; defaults to 1% of capacity. */
  earlyWarning?: number;
  /** Largest chunk file; defaults to 1 GiB. */
  chunkSize?: number;
  writeProtected?: boolean;
}

/** Creates an empty cartridge; ERR_IMAGE_EXISTS when the label is taken. */
export async function createCartridge(
  backend: ImageBackend,
  options: CreateCartridgeOptions,
): Promise<CartridgeMeta> {
  const label = validateLabel(options.label);
  if (!(MEDIA_TYPES as string[]).includes(options.mediaType)) {
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `mediaType ${JSON.stringify(options.mediaType)} is not one of ${MEDIA_TYPES.join(', ')}`,
    );
  }
  const capacity = options.capacity ?? NATIVE_CAPACITY[options.mediaType];
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const earlyWarning = options.earlyWarning ?? defaultEarlyWarning(capacity);
  checkInteger('capacity', capacity, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('chunkSize', chunkSize, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  checkInteger('earlyWarning', earlyWarning, 0, capacity);
  if (await backend.exists(label))
    throw new VtlError('ERR_IMAGE_EXISTS', `cartridge ${label} exists already`);
  const meta: CartridgeMeta = {
    formatVersion: 1,
    label,
    mediaType: options.mediaType,
    capacity,
    earlyWarning,
    chunkSize,
    createdAt: new Date().toISOString(),
    writeProtected: options.writeProtected ?? false,
    counters: { loads: 0, bytesWritten: 0, bytesRead: 0, passes: 0 },
    attributes: {},
  };
  const store = await backend.open(label, { create: true });
  try {
    await store.writeAtomic(META_FILE, encodeMeta(meta));
    await store.sync();
  } finally {
    await store.close();
  }
  return meta;
}

/**
 * The operator moves a cartridge's write-protect tab (SSC-4: a write-protected volume refuses
 * every write with DATA PROTECT 27/00 and the mode header's WP bit is set). Only for a cartridge
 * that is not in a drive, as a tab cannot be moved on a threaded cartridge: a loaded one's
 * cartridge.json belongs to its open TapeImage, which would write its own copy back. Returns the
 * updated metadata; ERR_IMAGE_NOT_FOUND for an unknown label.
 */
export async function setWriteProtected(
  backend: ImageBackend,
  label: string,
  writeProtected: boolean,
): Promise<CartridgeMeta> {
  validateLabel(label);
  if (typeof writeProtected !== 'boolean')
    throw new VtlError('ERR_INVALID_ARGUMENT', `writeProtected must be a boolean`);
  if (!(await backend.exists(label))) throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${label}`);
  const store = await backend.open(label, { create: false });
  try {
    const size = await store.size(META_FILE);
    if (size < 0) throw new VtlError('ERR_IMAGE', `${label}: ${META_FILE} is missing`);
    const meta = parseMeta(label, await store.read(META_FILE, 0, size));
    meta.writeProtected = writeProtected;
    await store.writeAtomic(META_FILE, encodeMeta(meta));
    await store.sync();
    return meta;
  } finally {
    await store.close();
  }
}

/**
 * Loads a cartridge as a tape image positioned at BOP of partition 0. The files of every
 * partition are reconciled first (a crash leaves at most an unsynced tail to cut); repairs are
 * logged at warn level. Counters such as `loads` are the drive's to maintain.
 */
export async function openTapeImage(
  backend: ImageBackend,
  label: string,
  options: TapeImageOptions = {},
): Promise<ChunkedTapeImage> {
  validateLabel(label);
  if (!(await backend.exists(label))) throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${label}`);
  const store = await backend.open(label, { create: false });
  try {
    const metaSize = await store.size(META_FILE);
    if (metaSize < 0) throw new VtlError('ERR_IMAGE', `${label}: ${META_FILE} is missing`);
    const meta = parseMeta(label, await store.read(META_FILE, 0, metaSize));
    const states: ImageState[] = [];
    for (let p = 0; p < partitionSizes(meta).length; p++) {
      const state = await reconcile(store, label, partitionFiles(label, p), FILEMARK_CAPACITY_COST);
      for (const repair of state.repairs) {
        options.logger?.warn(
          'tape image repaired',
          p === 0 ? { label, repair } : { label, partition: p, repair },
        );
      }
      states.push(state);
    }
    return new ChunkedTapeImage(store, meta, states, options);
  } catch (err) {
    await store.close();
    throw err;
  }
}

function checkInteger(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new VtlError('ERR_INVALID_ARGUMENT', `${name} ${String(v)} is not an integer in ${min}..${max}`);
  }
}

/** Parses and checks `cartridge.json`; every failure names the file and the field. */
export function parseMeta(label: string, bytes: Buffer): CartridgeMeta {
  const fail = (what: string): never => {
    throw new VtlError('ERR_IMAGE', `${label}: ${META_FILE}: ${what}`);
  };
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('not a JSON object');
  if (v.formatVersion !== 1)
    return fail(`formatVersion ${JSON.stringify(v.formatVersion)} is not supported (expected 1)`);
  if (v.label !== label)
    return fail(`label ${JSON.stringify(v.label)} does not match the cartridge ${label}`);
  if (!(MEDIA_TYPES as unknown[]).includes(v.mediaType))
    return fail(`mediaType ${JSON.stringify(v.mediaType)} is unknown`);
  const int = (key: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
      ? value
      : fail(`${key} ${JSON.stringify(value)} is not an integer in ${min}..${max}`);
  const capacity = int('capacity', v.capacity);
  const earlyWarning = int('earlyWarning', v.earlyWarning, 0, capacity);
  const chunkSize = int('chunkSize', v.chunkSize, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  if (typeof v.createdAt !== 'string') return fail('createdAt is not a string');
  if (typeof v.writeProtected !== 'boolean') return fail('writeProtected is not a boolean');
  const c = (v.counters ?? {}) as Record<string, unknown>;
  const attributes = v.attributes ?? {};
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) {
    return fail('attributes is not an object');
  }
  for (const [k, a] of Object.entries(attributes)) {
    if (typeof a !== 'string') fail(`attributes.${k} is not a string`);
  }
  let partitions: number[] | undefined;
  if (v.partitions !== undefined) {
    try {
      partitions = checkLayout(label, v.partitions, capacity);
    } catch (err) {
      return fail(`partitions: ${(err as Error).message.replace(/^[^:]*: /, '')}`);
    }
  }
  return {
    formatVersion: 1,
    label,
    mediaType: v.mediaType as MediaType,
    capacity,
    earlyWarning,
    chunkSize,
    createdAt: v.createdAt,
    writeProtected: v.writeProtected,
    counters: {
      loads: int('counters.loads', c.loads ?? 0),
      bytesWritten: int('counters.bytesWritten', c.bytesWritten ?? 0),
      bytesRead: int('counters.bytesRead', c.bytesRead ?? 0),
      passes: int('counters.passes', c.passes ?? 0),
    },
    attributes: { ...(attributes as Record<string, string>) },
    ...(partitions === undefined ? {} : { partitions }),
  };
}

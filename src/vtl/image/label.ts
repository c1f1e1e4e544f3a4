/**
 * Cartridge labels and the file names derived from them. A label becomes a directory name and
 * a file-name prefix, so it is validated strictly before it touches any path.
 *
 * Accepted: 1..32 characters from A-Z, 0-9, '-', '_' and '.', not starting with '.'.
 * Lowercase is refused rather than folded: barcode labels are upper case (LTO Ultrium labels,
 * e.g. "A00001L8", are printed in Code 39 upper case) and case-insensitive file systems (macOS,
 * Windows) would otherwise map "abc" and "ABC" onto one directory.
 */
import { VtlError } from '../../util/errors.js';

export const LABEL_MAX_LENGTH = 32;
const LABEL_CHARS = /^[A-Z0-9._-]+$/;

/** Returns the label unchanged when acceptable; throws VtlError ERR_LABEL naming the reason. */
export function validateLabel(label: unknown): string {
  if (typeof label !== 'string')
    throw new VtlError('ERR_LABEL', `label must be a string, got ${typeof label}`);
  const shown = JSON.stringify(label);
  if (label.length === 0) throw new VtlError('ERR_LABEL', 'label is empty');
  if (label.length > LABEL_MAX_LENGTH) {
    throw new VtlError(
      'ERR_LABEL',
      `label ${shown} is ${label.length} characters; at most ${LABEL_MAX_LENGTH}`,
    );
  }
  if (label.includes('\0')) throw new VtlError('ERR_LABEL', `label ${shown} contains a NUL character`);
  if (label.includes('/') || label.includes('\\')) {
    throw new VtlError('ERR_LABEL', `label ${shown} contains a path separator`);
  }
  if (label.startsWith('.')) {
    throw new VtlError('ERR_LABEL', `label ${shown} starts with '.' (hidden or parent directory)`);
  }
  if (!LABEL_CHARS.test(label)) {
    const bad = [...label].find((c) => !LABEL_CHARS.test(c)) ?? '';
    const hint = /[a-z]/.test(bad) ? ' (labels are upper case)' : '';
    throw new VtlError(
      'ERR_LABEL',
      `label ${shown} contains ${JSON.stringify(bad)}; allowed are A-Z, 0-9, '-', '_', '.'${hint}`,
    );
  }
  return label;
}

/** True when `validateLabel` would accept the label. */
export function isValidLabel(label: string): boolean {
  try {
    validateLabel(label);
    return true;
  } catch {
    return false;
  }
}

/** File names inside one cartridge store (DESIGN.md "The tape image"). */
export const META_FILE = 'cartridge.json';
export const CHECKPOINT_FILE = 'checkpoint.json';

export function chunkFileName(label: string, chunk: number): string {
  return `${label}.img.${String(chunk).padStart(6, '0')}`;
}

export function indexFileName(label: string): string {
  return `${label}.idx`;
}

export function filemarkFileName(label: string): string {
  return `${label}.fm`;
}

/** The chunk number of a chunk file name of this label, or null when it is not one. */
export function parseChunkFileName(label: string, name: string): number | null {
  const prefix = `${label}.img.`;
  if (!name.startsWith(prefix)) return null;
  const digits = name.slice(prefix.length);
  if (!/^\d{6,}$/.test(digits)) return null;
  const n = Number(digits);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

/** Most partitions a cartridge can be formatted into (LTO-7 and later offer up to 4). */
export const MAX_PARTITIONS = 4;

/**
 * The files of one partition. Partition 0 keeps the names of a cartridge without partitions
 * (so images made before partitions are partition 0 as they stand); partition p >= 1 has
 * `<LABEL>.p<p>.img.NNNNNN`, `<LABEL>.p<p>.idx`, `<LABEL>.p<p>.fm` and `checkpoint.p<p>.json`.
 */
export interface PartitionFiles {
  readonly partition: number;
  chunk(n: number): string;
  readonly index: string;
  readonly filemarks: string;
  readonly checkpoint: string;
  /** The chunk number of one of this partition's chunk file names, else null. */
  parseChunk(name: string): number | null;
}

export function partitionFiles(label: string, partition: number): PartitionFiles {
  if (partition === 0) {
    return {
      partition,
      chunk: (n) => chunkFileName(label, n),
      index: indexFileName(label),
      filemarks: filemarkFileName(label),
      checkpoint: CHECKPOINT_FILE,
      parseChunk: (name) => parseChunkFileName(label, name),
    };
  }
  const base = `${label}.p${partition}`;
  return {
    partition,
    chunk: (n) => chunkFileName(base, n),
    index: indexFileName(base),
    filemarks: filemarkFileName(base),
    checkpoint: `checkpoint.p${partition}.json`,
    parseChunk: (name) => parseChunkFileName(base, name),
  };
}

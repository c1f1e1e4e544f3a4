/**
 * How medium auxiliary memory lives in `cartridge.json` (CartridgeMeta.attributes): a stored
 * attribute is its 16-bit identifier as four hex digits mapped to its value as hex, exactly the
 * bytes READ ATTRIBUTE returns. Host attributes (WRITE ATTRIBUTE) and the device attributes the
 * drive keeps (load history, initialization count, volume change reference) are stored; the
 * rest is computed from the cartridge (mam.ts). Keys that are not four hex digits hold drive
 * state that is no MAM attribute (media optimization done) and are never reported.
 */
import type { CartridgeMeta, TapeImage } from '../image/types.js';

/** LTO-9+ media optimization has run on this cartridge (drive.ts). */
export const OPTIMIZED_KEY = 'vtl.mediaOptimized';

/**
 * Host attributes kept per partition (SPC-4 READ/WRITE ATTRIBUTE address a partition): LTFS
 * writes its VOLUME COHERENCY INFORMATION on each partition and compares them at mount; a
 * partition's user text label names that partition. Every other attribute is the volume's, the
 * same whichever partition is asked.
 */
export const PARTITION_SCOPED: ReadonlySet<number> = new Set([0x0809, 0x080c]);

/**
 * Storage key of an attribute identifier; a partition-scoped attribute of partition p > 0 is
 * kept under "<id>@<p>" (partition 0 under the plain key, as before partitions existed).
 */
export function attributeKey(id: number, partition = 0): string {
  const key = id.toString(16).padStart(4, '0');
  return partition > 0 && PARTITION_SCOPED.has(id) ? `${key}@${partition}` : key;
}

export const INITIALIZATION_COUNT = attributeKey(0x0007);
const VOLUME_CHANGE_REFERENCE = attributeKey(0x0009);
/** DEVICE VENDOR/SERIAL NUMBER AT LAST LOAD, LOAD-1, LOAD-2, LOAD-3 (SPC-4 MAM 020Ah-020Dh). */
const LOAD_HISTORY = [0x020a, 0x020b, 0x020c, 0x020d].map(attributeKey);

export function isAttributeKey(key: string): boolean {
  return /^[0-9a-f]{4}(@[1-9])?$/.test(key);
}

export function storedAttribute(meta: CartridgeMeta, id: number, partition = 0): Buffer | null {
  const v = meta.attributes[attributeKey(id, partition)];
  return v === undefined ? null : Buffer.from(v, 'hex');
}

export function storeAttribute(meta: CartridgeMeta, id: number, value: Buffer | null, partition = 0): void {
  if (value === null) delete meta.attributes[attributeKey(id, partition)];
  else meta.attributes[attributeKey(id, partition)] = value.toString('hex');
}

/** FORMAT MEDIUM: the attributes of partitions `count` and above are gone with them. */
export function dropPartitionAttributes(meta: CartridgeMeta, count: number): void {
  for (const key of Object.keys(meta.attributes)) {
    const m = /^[0-9a-f]{4}@([1-9])$/.exec(key);
    if (m && Number(m[1]) >= count) delete meta.attributes[key];
  }
}

/**
 * A load shifts the history one place (SPC-4: the T10 vendor identification, 8 bytes, then the
 * drive's serial number, 32 bytes, left-aligned and space-padded).
 */
export function recordLoad(meta: CartridgeMeta, vendor: string, serial: string): void {
  for (let i = LOAD_HISTORY.length - 1; i > 0; i--) {
    const prev = meta.attributes[LOAD_HISTORY[i - 1]];
    if (prev === undefined) delete meta.attributes[LOAD_HISTORY[i]];
    else meta.attributes[LOAD_HISTORY[i]] = prev;
  }
  const v = Buffer.alloc(40, 0x20);
  v.write(vendor.slice(0, 8), 0, 'latin1');
  v.write(serial.slice(0, 32), 8, 'latin1');
  meta.attributes[LOAD_HISTORY[0]] = v.toString('hex');
}

/**
 * SSC-4 VOLUME CHANGE REFERENCE (0009h): a 4-byte value that changes whenever data on the medium
 * changes; LTFS compares it with its volume coherency information. Advanced once per load, on the
 * first change.
 */
export function noteVolumeChange(image: TapeImage, load: { changed: boolean }): void {
  if (load.changed) return;
  load.changed = true;
  const a = image.meta.attributes;
  const next = (parseInt(a[VOLUME_CHANGE_REFERENCE] ?? '00000000', 16) + 1) >>> 0;
  a[VOLUME_CHANGE_REFERENCE] = next.toString(16).padStart(8, '0');
}

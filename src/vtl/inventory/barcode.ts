/**
 * Cartridge barcodes (LTO cartridge label convention, the labels IBM, HPE and Quantum print):
 * six volume-serial characters and a two-character media identifier.
 *
 *   data      L5..L9 (LTO-5..9), WORM LV..LZ (LTO-5..9 WORM)      e.g. E01001L8, W00001LY
 *   cleaning  CLN prefix with a cleaning media id, L1..L9 or CU    e.g. CLN001L1, CLN002CU
 *
 * Backup software tells cleaning cartridges from data ones by the CLN prefix alone (PBS
 * changer/mod.rs, Veeam; clients.md 2 'Changer element reporting'), so a barcode starting with
 * CLN is always a cleaning cartridge here and never a data one.
 *
 * Supersedes src/vtl/barcode.ts: `mediaTypeFromBarcode` keeps its name and its answers for data
 * cartridges and now also answers 'CLEANING'.
 */
import { VtlError } from '../../util/errors.js';
import type { MediaType } from '../image/types.js';

const MEDIA_BY_SUFFIX: Readonly<Record<string, MediaType>> = {
  L5: 'LTO5',
  L6: 'LTO6',
  L7: 'LTO7',
  L8: 'LTO8',
  L9: 'LTO9',
  LV: 'LTO5-WORM',
  LW: 'LTO6-WORM',
  LX: 'LTO7-WORM',
  LY: 'LTO8-WORM',
  LZ: 'LTO9-WORM',
};

/** A data cartridge barcode (unchanged from src/vtl/barcode.ts, minus the CLN prefix). */
export const BARCODE_PATTERN = /^(?!CLN)[A-Z0-9]{6}(L[5-9]|L[V-Z])$/;
/** A cleaning cartridge barcode: CLN, three characters, a cleaning media id (L1..L9 or CU). */
export const CLEANING_BARCODE_PATTERN = /^CLN[A-Z0-9]{3}(L[1-9]|CU)$/;
/** Any barcode the library accepts. */
export const ANY_BARCODE_PATTERN = /^(CLN[A-Z0-9]{3}(L[1-9]|CU)|(?!CLN)[A-Z0-9]{6}(L[5-9]|L[V-Z]))$/;

/** Uses a new cleaning cartridge has (an LTO Ultrium universal cleaning cartridge is rated 50). */
export const DEFAULT_CLEANING_USES = 50;

/** Most barcodes one range may name: keeps a typo ('A00000L8..Z99999L8') from filling a disk. */
export const MAX_RANGE_LENGTH = 10_000;

export function isCleaningBarcode(barcode: string): boolean {
  return barcode.startsWith('CLN');
}

/** The barcode unchanged when the library accepts it; ERR_LABEL naming the rule otherwise. */
export function validateBarcode(barcode: unknown): string {
  if (typeof barcode !== 'string' || !ANY_BARCODE_PATTERN.test(barcode)) {
    throw new VtlError(
      'ERR_LABEL',
      `barcode ${JSON.stringify(barcode)} is not six characters A-Z/0-9 followed by an LTO media id ` +
        `(L5-L9, WORM LV-LZ; cleaning: CLNxxx with L1-L9 or CU)`,
    );
  }
  return barcode;
}

/** The media type a barcode's media identifier names; ERR_LABEL when it names none. */
export function mediaTypeFromBarcode(barcode: string): MediaType {
  validateBarcode(barcode);
  if (isCleaningBarcode(barcode)) return 'CLEANING';
  return MEDIA_BY_SUFFIX[barcode.slice(6)];
}

/**
 * Expands 'E01001L8..E01020L8' into its barcodes: both ends share the media id and the volume
 * serial up to a trailing run of digits of the same width, which counts up (zero-padded).
 * A plain barcode expands to itself.
 */
export function expandBarcodeRange(spec: string): string[] {
  const parts = spec.split('..');
  if (parts.length === 1) return [validateBarcode(spec.trim())];
  if (parts.length !== 2) throw rangeError(spec, 'use FIRST..LAST');
  const first = validateBarcode(parts[0].trim());
  const last = validateBarcode(parts[1].trim());
  if (first.slice(6) !== last.slice(6)) throw rangeError(spec, 'both ends need the same media id');
  const a = /^(.*?)(\d+)$/.exec(first.slice(0, 6));
  const b = /^(.*?)(\d+)$/.exec(last.slice(0, 6));
  if (!a || !b) throw rangeError(spec, 'the volume serials must end in digits');
  // Align the digit runs: 'E01001' and 'E01020' share 'E' and count over '01001'..'01020'.
  const width = Math.min(a[2].length, b[2].length);
  const prefix = first.slice(0, 6 - width);
  if (last.slice(0, 6 - width) !== prefix) throw rangeError(spec, 'both ends need the same prefix');
  const from = Number(first.slice(6 - width, 6));
  const to = Number(last.slice(6 - width, 6));
  if (to < from) throw rangeError(spec, 'the first barcode must not be above the last');
  if (to - from + 1 > MAX_RANGE_LENGTH)
    throw rangeError(spec, `it names ${to - from + 1} cartridges; at most ${MAX_RANGE_LENGTH}`);
  const suffix = first.slice(6);
  const out: string[] = [];
  for (let n = from; n <= to; n++)
    out.push(validateBarcode(prefix + String(n).padStart(width, '0') + suffix));
  return out;
}

/** Barcodes and ranges, in order, without duplicates (ERR_INVALID_ARGUMENT names the first repeat). */
export function expandBarcodes(specs: string | readonly string[]): string[] {
  const list = typeof specs === 'string' ? [specs] : specs;
  const seen = new Set<string>();
  for (const spec of list) {
    for (const barcode of expandBarcodeRange(spec)) {
      if (seen.has(barcode))
        throw new VtlError('ERR_INVALID_ARGUMENT', `barcode ${barcode} is named more than once`);
      seen.add(barcode);
    }
  }
  return [...seen];
}

function rangeError(spec: string, why: string): VtlError {
  return new VtlError(
    'ERR_LABEL',
    `barcode range ${JSON.stringify(spec)}: ${why} (e.g. "E01001L8..E01020L8")`,
  );
}

/**
 * LTO cartridge labels (LTO barcode label convention): six characters and a two-character
 * media identifier — L5..L9 data, LV..LZ WORM for LTO-5..9.
 */
import { VtlError } from '../util/errors.js';
import type { MediaType } from './image/types.js';

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

export const BARCODE_PATTERN = /^[A-Z0-9]{6}(L[5-9]|L[V-Z])$/;

/** The media type a barcode's media identifier names; ERR_LABEL when it names none. */
export function mediaTypeFromBarcode(barcode: string): MediaType {
  if (!BARCODE_PATTERN.test(barcode)) {
    throw new VtlError(
      'ERR_LABEL',
      `barcode ${JSON.stringify(barcode)} is not six characters A-Z/0-9 followed by an LTO media id (L5-L9, WORM LV-LZ)`,
    );
  }
  return MEDIA_BY_SUFFIX[barcode.slice(6)];
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expandBarcodeRange,
  expandBarcodes,
  isCleaningBarcode,
  mediaTypeFromBarcode,
  validateBarcode,
} from '../../../src/vtl/inventory/barcode.js';

describe('barcodes', () => {
  it('maps every data barcode to the media type its media id names', () => {
    const media: Record<string, string> = {
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
    const volser = fc.stringMatching(/^[A-Z0-9]{6}$/).filter((s) => !s.startsWith('CLN'));
    const suffix = fc.constantFrom('L5', 'L6', 'L7', 'L8', 'L9', 'LV', 'LW', 'LX', 'LY', 'LZ');
    fc.assert(
      fc.property(volser, suffix, (v, s) => {
        expect(mediaTypeFromBarcode(v + s)).toBe(media[s]);
      }),
      { numRuns: 200 },
    );
    expect(mediaTypeFromBarcode('E01001L8')).toBe('LTO8');
    expect(mediaTypeFromBarcode('W00001LZ')).toBe('LTO9-WORM');
  });

  it('recognises cleaning cartridges by the CLN prefix (L1..L9 and CU)', () => {
    expect(mediaTypeFromBarcode('CLN001L1')).toBe('CLEANING');
    expect(mediaTypeFromBarcode('CLNA12CU')).toBe('CLEANING');
    expect(isCleaningBarcode('CLN001L1')).toBe(true);
    expect(isCleaningBarcode('E01001L8')).toBe(false);
    // PBS and Veeam take any CLN barcode for a cleaner: it cannot be a data cartridge here.
    expect(() => validateBarcode('CLN001L8')).not.toThrow();
    expect(mediaTypeFromBarcode('CLN001L8')).toBe('CLEANING');
  });

  it('refuses what is not a barcode, naming the rule', () => {
    for (const bad of [
      'E01001L4',
      'e01001l8',
      'E0100L8',
      'E01001L8X',
      'CLN01L1',
      'CLN001XX',
      '',
      '../../L8',
    ]) {
      expect(() => mediaTypeFromBarcode(bad), bad).toThrow(/LTO media id/);
    }
    expect(() => validateBarcode(42)).toThrow(/is not six characters/);
  });

  it('expands ranges with the digit run counting up', () => {
    expect(expandBarcodeRange('E01001L8..E01004L8')).toEqual([
      'E01001L8',
      'E01002L8',
      'E01003L8',
      'E01004L8',
    ]);
    expect(expandBarcodeRange('AB0098L9..AB0101L9')).toEqual([
      'AB0098L9',
      'AB0099L9',
      'AB0100L9',
      'AB0101L9',
    ]);
    expect(expandBarcodeRange('CLN001L1..CLN002L1')).toEqual(['CLN001L1', 'CLN002L1']);
    expect(expandBarcodeRange('E01001L8')).toEqual(['E01001L8']);
    expect(expandBarcodes(['E01001L8..E01002L8', 'CLN001L1'])).toEqual(['E01001L8', 'E01002L8', 'CLN001L1']);
  });

  it('refuses ranges that do not describe a run', () => {
    expect(() => expandBarcodeRange('E01001L8..E01004L7')).toThrow(/same media id/);
    expect(() => expandBarcodeRange('E01005L8..E01004L8')).toThrow(/not be above/);
    expect(() => expandBarcodeRange('A01001L8..B01004L8')).toThrow(/same prefix/);
    expect(() => expandBarcodeRange('ABCDEFL8..ABCDEGL8')).toThrow(/end in digits/);
    expect(() => expandBarcodeRange('A00000L8..A99999L8')).toThrow(/at most/);
    expect(() => expandBarcodeRange('E01001L8..E01002L8..E01003L8')).toThrow(/FIRST..LAST/);
    expect(() => expandBarcodes(['E01001L8..E01003L8', 'E01002L8'])).toThrow(/more than once/);
  });
});

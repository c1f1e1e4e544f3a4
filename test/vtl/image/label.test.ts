import { describe, expect, it } from 'vitest';
import { VtlError } from '../../../src/util/errors.js';
import { chunkFileName, parseChunkFileName, validateLabel } from '../../../src/vtl/image/label.js';

function reason(label: unknown): string {
  try {
    validateLabel(label);
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(VtlError);
    expect((err as VtlError).code).toBe('ERR_LABEL');
    return (err as VtlError).message;
  }
}

describe('cartridge labels', () => {
  it('accepts barcode-style labels', () => {
    for (const l of ['A00001L8', 'CLN001L1', 'X', 'TAPE-01_B.2', 'A'.repeat(32)])
      expect(reason(l)).toBe('accepted');
  });

  it('refuses what could escape the root or collide, naming why', () => {
    expect(reason('')).toBe('label is empty');
    expect(reason('../ETC')).toBe(`label "../ETC" contains a path separator`);
    expect(reason('..')).toBe(`label ".." starts with '.' (hidden or parent directory)`);
    expect(reason('A/B')).toBe(`label "A/B" contains a path separator`);
    expect(reason('A\\B')).toBe(`label "A\\\\B" contains a path separator`);
    expect(reason('A\0B')).toBe(`label "A\\u0000B" contains a NUL character`);
    expect(reason('a00001l8')).toBe(
      `label "a00001l8" contains "a"; allowed are A-Z, 0-9, '-', '_', '.' (labels are upper case)`,
    );
    expect(reason('A B')).toBe(`label "A B" contains " "; allowed are A-Z, 0-9, '-', '_', '.'`);
    expect(reason('A'.repeat(33))).toBe(`label "${'A'.repeat(33)}" is 33 characters; at most 32`);
    expect(reason(7)).toBe('label must be a string, got number');
  });

  it('names chunk files <LABEL>.img.NNNNNN and parses them back', () => {
    expect(chunkFileName('A00001L8', 1)).toBe('A00001L8.img.000001');
    expect(chunkFileName('A00001L8', 1234567)).toBe('A00001L8.img.1234567');
    expect(parseChunkFileName('A00001L8', 'A00001L8.img.000042')).toBe(42);
    expect(parseChunkFileName('A00001L8', 'A00001L8.img.42')).toBeNull();
    expect(parseChunkFileName('A00001L8', 'B.img.000001')).toBeNull();
    expect(parseChunkFileName('A00001L8', 'A00001L8.img.000000')).toBeNull();
  });
});

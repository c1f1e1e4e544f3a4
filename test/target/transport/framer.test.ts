import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '../../../src/target/transport/crc32c.js';
import { PduFramer, encodePdu } from '../../../src/target/transport/framer.js';
import type { Pdu } from '../../../src/target/transport/types.js';
import { VtlError } from '../../../src/util/errors.js';
import { type PduSpec, makeHeader, patternData, sampleSpecs, wire } from './fixtures.js';

const DIGEST_MODES: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function expectPdu(pdu: Pdu, spec: PduSpec): void {
  const header = makeHeader(spec);
  expect(pdu.bhs).toEqual(header.subarray(0, 48));
  expect(pdu.ahs).toEqual(spec.ahsWords > 0 ? header.subarray(48) : null);
  expect(pdu.data).toEqual(spec.data && spec.data.length > 0 ? spec.data : null);
  expect(pdu.dataDigestError).toBe(false);
}

/** A cheap mismatch description (toEqual on Buffers is too slow for thousands of splits). */
function mismatch(pdus: readonly Pdu[], specs: readonly PduSpec[]): string | null {
  if (pdus.length !== specs.length) return `${pdus.length} PDUs instead of ${specs.length}`;
  for (let i = 0; i < specs.length; i++) {
    const p = pdus[i];
    const header = makeHeader(specs[i]);
    const data = specs[i].data;
    if (!p.bhs.equals(header.subarray(0, 48))) return `PDU ${i}: BHS differs`;
    if (!(p.ahs ?? Buffer.alloc(0)).equals(header.subarray(48))) return `PDU ${i}: AHS differs`;
    if (data && data.length > 0 ? !p.data?.equals(data) : p.data !== null) {
      return `PDU ${i}: data differs`;
    }
    if (p.dataDigestError) return `PDU ${i}: data digest error`;
  }
  return null;
}

function framer(hd: boolean, dd: boolean, max = 65536): PduFramer {
  const f = new PduFramer();
  f.setDigests(hd, dd);
  f.setMaxRecvDataSegmentLength(max);
  return f;
}

describe('crc32c', () => {
  // RFC 7143 Appendix B.4 (same vectors as RFC 3720 B.4).
  it.each([
    ['32 bytes of zeros', Buffer.alloc(32), 0x8a9136aa],
    ['32 bytes of ones', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['32 incrementing bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ['32 decrementing bytes', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
    [
      'an iSCSI SCSI Read command PDU',
      Buffer.from(
        '01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000',
        'hex',
      ),
      0xd9963a56,
    ],
  ])('matches the RFC vector for %s', (_name, buf, expected) => {
    expect(crc32c(buf)).toBe(expected);
  });

  it('continues from an initial value', () => {
    const a = patternData(1000, 1);
    const b = patternData(333, 2);
    expect(crc32c(b, crc32c(a))).toBe(crc32c(Buffer.concat([a, b])));
  });
});

describe('PduFramer', () => {
  for (const [hd, dd] of DIGEST_MODES) {
    describe(`header digest ${hd}, data digest ${dd}`, () => {
      const specs = sampleSpecs();
      const stream = Buffer.concat(specs.map((s) => wire(s, hd, dd)));

      it('frames many PDUs from one push', () => {
        const pdus = framer(hd, dd).push(stream);
        expect(pdus).toHaveLength(specs.length);
        pdus.forEach((p, i) => expectPdu(p, specs[i]));
      });

      it('frames the stream split at every byte offset', () => {
        for (let cut = 1; cut < stream.length; cut++) {
          const f = framer(hd, dd);
          const pdus = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
          const wrong = mismatch(pdus, specs) ?? (f.idle ? null : 'framer not idle');
          if (wrong) expect.fail(`cut at ${cut}: ${wrong}`);
        }
      });

      it('frames a stream read into one reused buffer and straight into pending segments', () => {
        // The net transport's reader: the framer may keep nothing of a pushed buffer, so the
        // next read overwrites it; the rest of a begun data segment is read into pendingSpace.
        const mixed = [
          ...specs,
          { opcode: 0x05, itt: 8, ahsWords: 1, data: patternData(150_001, 8) },
          ...specs,
        ];
        const bytes = Buffer.concat(mixed.map((s) => wire(s, hd, dd)));
        const f = framer(hd, dd, 200_000);
        const reused = Buffer.alloc(1000);
        let at = 0;
        let next = 0;
        while (at < bytes.length) {
          const space = f.pendingSpace();
          const into = space !== null && space.length > 5000 ? space : reused;
          const n = bytes.copy(into, 0, at, Math.min(bytes.length, at + Math.min(into.length, 7919)));
          at += n;
          const batch = into === reused ? f.push(reused.subarray(0, n)) : f.commit(n);
          // Checked before the next read overwrites the views of `reused`.
          const wrong = mismatch(batch, mixed.slice(next, next + batch.length));
          if (wrong) expect.fail(`at byte ${at}: ${wrong}`);
          next += batch.length;
          reused.fill(0xee);
        }
        expect(next).toBe(mixed.length);
        expect(f.idle).toBe(true);
        expect(() => f.commit(1)).toThrow(VtlError);
      });

      it('frames the stream fed one byte at a time', () => {
        const f = framer(hd, dd);
        const pdus: Pdu[] = [];
        for (let i = 0; i < stream.length; i++) f.push(stream.subarray(i, i + 1), pdus);
        expect(pdus).toHaveLength(specs.length);
        pdus.forEach((p, i) => expectPdu(p, specs[i]));
      });
    });
  }

  it('rejects a data segment over MaxRecvDataSegmentLength from the header alone', () => {
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      const f = framer(false, false, 8192);
      const header = makeHeader({ opcode: 1, itt: 9, ahsWords: 0, data: null });
      header.writeUIntBE(0xffffff, 5, 3);
      let thrown: unknown;
      try {
        f.push(header);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(VtlError);
      expect((thrown as VtlError).code).toBe('ERR_PROTOCOL');
      expect((thrown as VtlError).message).toBe(
        'data segment of 16777215 bytes exceeds MaxRecvDataSegmentLength 8192',
      );
      expect(spy.mock.calls.some(([n]) => n >= 8192)).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });

  it('accepts a segment of exactly MaxRecvDataSegmentLength', () => {
    const spec = { opcode: 5, itt: 1, ahsWords: 0, data: patternData(512, 1) };
    const pdus = framer(false, false, 512).push(wire(spec, false, false));
    expectPdu(pdus[0], spec);
  });

  it('treats a header digest mismatch as fatal, keeping the PDUs before it', () => {
    const good = { opcode: 0, itt: 1, ahsWords: 0, data: null };
    const bad = wire({ opcode: 0, itt: 2, ahsWords: 0, data: null }, true, false);
    bad[20] ^= 0x01;
    const f = framer(true, false);
    const out: Pdu[] = [];
    expect(() => f.push(Buffer.concat([wire(good, true, false), bad]), out)).toThrow(
      /^header digest mismatch: computed 0x[0-9a-f]{8}, received 0x[0-9a-f]{8}$/,
    );
    expect(out).toHaveLength(1);
    expectPdu(out[0], good);
    expect(f.error?.code).toBe('ERR_PROTOCOL');
    expect(() => f.push(wire(good, true, false))).toThrow(f.error!);
  });

  it('flags a data digest mismatch and goes on framing', () => {
    const first = wire({ opcode: 5, itt: 1, ahsWords: 0, data: patternData(10, 1) }, false, true);
    first[48 + 3] ^= 0x80;
    const second = { opcode: 5, itt: 2, ahsWords: 0, data: patternData(10, 2) };
    const pdus = framer(false, true).push(Buffer.concat([first, wire(second, false, true)]));
    expect(pdus[0].dataDigestError).toBe(true);
    expectPdu(pdus[1], second);
  });

  it('applies setDigests from the next PDU boundary', () => {
    const plain = { opcode: 0x03, itt: 1, ahsWords: 0, data: patternData(5, 1) };
    const digested = { opcode: 0x01, itt: 2, ahsWords: 0, data: patternData(5, 2) };
    const a = wire(plain, false, false);
    const f = framer(false, false);
    expect(f.push(a.subarray(0, 30))).toHaveLength(0);
    f.setDigests(true, true);
    const pdus = f.push(Buffer.concat([a.subarray(30), wire(digested, true, true)]));
    expect(pdus).toHaveLength(2);
    expectPdu(pdus[0], plain);
    expectPdu(pdus[1], digested);
  });

  it('refuses a MaxRecvDataSegmentLength outside 512..2^24-1', () => {
    expect(() => new PduFramer().setMaxRecvDataSegmentLength(511)).toThrow(/512/);
    expect(() => new PduFramer().setMaxRecvDataSegmentLength(1 << 24)).toThrow(/512/);
  });

  it('frames any PDU sequence under any split (property)', () => {
    const specArb = fc.record({
      opcode: fc.integer({ min: 0, max: 0x3f }),
      itt: fc.integer({ min: 0, max: 0xffffffff }),
      ahsWords: fc.integer({ min: 0, max: 3 }),
      data: fc.option(fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a))),
    });
    fc.assert(
      fc.property(
        fc.array(specArb, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (specs, hd, dd, sizes) => {
          const stream = Buffer.concat(specs.map((s) => wire(s, hd, dd)));
          const f = framer(hd, dd);
          const pdus: Pdu[] = [];
          let off = 0;
          for (let i = 0; off < stream.length; i++) {
            const n = sizes[i % sizes.length];
            f.push(stream.subarray(off, off + n), pdus);
            off += n;
          }
          expect(mismatch(pdus, specs)).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('encodePdu', () => {
  for (const [hd, dd] of DIGEST_MODES) {
    it(`writes the same bytes as an initiator would (digests ${hd}/${dd})`, () => {
      for (const spec of sampleSpecs()) {
        const bytes = Buffer.concat(encodePdu(makeHeader(spec), spec.data, hd, dd));
        expect(bytes).toEqual(wire(spec, hd, dd));
      }
    });
  }

  it('puts the header digest least significant byte first', () => {
    const header = Buffer.from(
      '01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000',
      'hex',
    );
    const pieces = encodePdu(header, null, true, false);
    expect(pieces[1]).toEqual(Buffer.from([0x56, 0x3a, 0x96, 0xd9]));
  });

  it('refuses a header whose DataSegmentLength does not match the data', () => {
    const header = makeHeader({ opcode: 5, itt: 1, ahsWords: 0, data: patternData(8, 1) });
    expect(() => encodePdu(header, patternData(9, 1), false, false)).toThrow(
      'send: DataSegmentLength 8 in the BHS does not match 9 bytes of data',
    );
  });

  it('refuses a header that is not BHS plus AHS', () => {
    const header = makeHeader({ opcode: 5, itt: 1, ahsWords: 1, data: null });
    expect(() => encodePdu(header.subarray(0, 50), null, false, false)).toThrow(/header of 50 bytes/);
  });
});

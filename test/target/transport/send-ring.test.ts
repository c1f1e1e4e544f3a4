/**
 * The net transport's send ring: regions never overlap while in flight, are reused once
 * released (in order), and oversized or unfittable requests are refused (the caller copies
 * into a buffer of its own).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SendRing } from '../../../src/target/transport/send-ring.js';

describe('SendRing', () => {
  it('reuses the same memory once regions are released', () => {
    const ring = new SendRing(1024);
    const a = ring.take(300)!;
    const b = ring.take(300)!;
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + 300);
    ring.release();
    ring.release();
    expect(ring.inFlight).toBe(0);
    expect(ring.take(300)!.byteOffset).toBe(a.byteOffset);
  });

  it('refuses what cannot fit: over half the ring, or more than is free', () => {
    const ring = new SendRing(1024);
    expect(ring.take(513)).toBeNull();
    expect(ring.take(0)).toBeNull();
    const base = ring.take(500)!.byteOffset;
    ring.take(500);
    expect(ring.take(100)).toBeNull();
    ring.release();
    // Wraps to the start, paying for the 24 bytes left at the end.
    const c = ring.take(400)!;
    expect(c.byteOffset).toBe(base);
    expect(ring.inFlight).toBe(500 + 24 + 400);
  });

  it('never hands out overlapping regions in flight (random sizes and releases)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1, max: 700 }), fc.constant(-1)), { maxLength: 200 }),
        (ops) => {
          const ring = new SendRing(2048);
          const live: { start: number; end: number }[] = [];
          for (const op of ops) {
            if (op < 0) {
              if (live.length > 0) {
                ring.release();
                live.shift();
              }
              continue;
            }
            const r = ring.take(op);
            if (r === null) continue;
            const region = { start: r.byteOffset, end: r.byteOffset + r.length };
            for (const l of live) expect(region.end <= l.start || region.start >= l.end).toBe(true);
            live.push(region);
          }
        },
      ),
    );
  });
});

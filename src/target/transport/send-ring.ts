/**
 * A ring of send memory for the `node:net` transport: each outgoing PDU is copied into one
 * region, written, and the region is free again once the socket has written it. Regions are
 * released in the order they were taken, as a socket completes writes in order. The ring is
 * allocated on first use; `take` answers null when the PDU does not fit (too large, or too
 * much is still unwritten), and the caller copies into a buffer of its own instead.
 */
/** Per connection, allocated on first send: room for four 256 KiB Data-In PDUs in flight. */
export const SEND_RING_SIZE = 1024 * 1024;

export class SendRing {
  private buf: Buffer | null = null;
  /** Next free byte. */
  private head = 0;
  /** Start of the oldest region still in flight. */
  private tail = 0;
  /** Bytes charged to regions in flight (a region taken after a wrap also pays for the gap). */
  private used = 0;
  /** What each region in flight charged, oldest first. */
  private readonly charges: number[] = [];
  private first = 0;

  constructor(private readonly size = SEND_RING_SIZE) {}

  /** Bytes taken and not yet released. */
  get inFlight(): number {
    return this.used;
  }

  /** A region of `n` bytes, or null when it does not fit now. */
  take(n: number): Buffer | null {
    if (n === 0 || n > this.size / 2) return null;
    this.buf ??= Buffer.allocUnsafe(this.size);
    if (this.used === 0) this.head = this.tail = 0;
    // head === tail with regions in flight means the ring is full.
    else if (this.head === this.tail) return null;
    let start: number;
    let charge: number;
    if (this.head >= this.tail) {
      // Free: [head, size) and [0, tail).
      if (this.size - this.head >= n) {
        start = this.head;
        charge = n;
      } else if (this.tail >= n) {
        start = 0;
        charge = this.size - this.head + n;
      } else return null;
    } else if (this.tail - this.head >= n) {
      start = this.head;
      charge = n;
    } else return null;
    this.head = start + n;
    if (this.head === this.size) this.head = 0;
    this.used += charge;
    this.charges.push(charge);
    return this.buf.subarray(start, start + n);
  }

  /** The oldest region in flight has been written. */
  release(): void {
    if (this.first >= this.charges.length) return;
    const charge = this.charges[this.first++];
    if (this.first > 1024 && this.first * 2 > this.charges.length) {
      this.charges.splice(0, this.first);
      this.first = 0;
    }
    this.used -= charge;
    this.tail = (this.tail + charge) % this.size;
  }
}

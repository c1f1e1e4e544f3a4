/**
 * Typed cursor reader and writer for the big-endian layouts of iSCSI and SCSI. Every codec in
 * the project goes through these so that no handler indexes raw offsets by hand.
 */

export class ByteReader {
  private pos: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  seek(offset: number): this {
    this.pos = offset;
    return this;
  }

  skip(n: number): this {
    this.pos += n;
    return this;
  }

  u8(): number {
    const v = this.buf.readUInt8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(): number {
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  /** A 24-bit two's complement count, as SPACE(6) carries it. */
  s24(): number {
    const v = this.buf.readIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  s32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u48(): number {
    const v = this.buf.readUIntBE(this.pos, 6);
    this.pos += 6;
    return v;
  }

  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  s64(): bigint {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Buffer {
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** ASCII field with trailing spaces and NULs removed. */
  ascii(n: number): string {
    return this.bytes(n)
      .toString('latin1')
      .replace(/[\s\0]+$/, '');
  }
}

/** Writes into a fixed buffer; `result()` returns the bytes written so far. */
export class ByteWriter {
  private pos = 0;
  readonly buf: Buffer;

  constructor(size: number | Buffer) {
    this.buf = typeof size === 'number' ? Buffer.alloc(size) : size;
  }

  get offset(): number {
    return this.pos;
  }

  seek(offset: number): this {
    this.pos = offset;
    return this;
  }

  skip(n: number): this {
    this.pos += n;
    return this;
  }

  u8(v: number): this {
    this.buf.writeUInt8(v & 0xff, this.pos);
    this.pos += 1;
    return this;
  }

  u16(v: number): this {
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }

  u24(v: number): this {
    this.buf.writeUIntBE(v & 0xffffff, this.pos, 3);
    this.pos += 3;
    return this;
  }

  u32(v: number): this {
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  s32(v: number): this {
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  u48(v: number): this {
    this.buf.writeUIntBE(v, this.pos, 6);
    this.pos += 6;
    return this;
  }

  u64(v: bigint | number): this {
    this.buf.writeBigUInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** ASCII field, left-aligned and padded with spaces to exactly n bytes (SPC-4 4.3.1). */
  ascii(s: string, n: number): this {
    const field = Buffer.alloc(n, 0x20);
    field.write(s.slice(0, n), 'latin1');
    return this.bytes(field);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

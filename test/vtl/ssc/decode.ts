/**
 * Decoders for what the drive returns, written from the standards' layouts (SPC-4 7.3 log
 * parameters, 7.4 attributes; SSC-4 density support data), so tests compare fields, not bytes
 * copied from output.
 */

export interface LogParam {
  code: number;
  control: number;
  value: Buffer;
}

/** A LOG SENSE page: header (page code, subpage, page length) and its parameters. */
export function decodeLogPage(d: Buffer): {
  page: number;
  subpage: number;
  length: number;
  params: LogParam[];
} {
  const length = d.readUInt16BE(2);
  const params: LogParam[] = [];
  for (let off = 4; off < 4 + length;) {
    const len = d[off + 3];
    params.push({
      code: d.readUInt16BE(off),
      control: d[off + 2],
      value: d.subarray(off + 4, off + 4 + len),
    });
    off += 4 + len;
  }
  return { page: d[0] & 0x3f, subpage: d[1], length, params };
}

/** A parameter's value as an unsigned big-endian number. */
export function num(v: Buffer): bigint {
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  return n;
}

export function paramMap(d: Buffer): Map<number, LogParam> {
  return new Map(decodeLogPage(d).params.map((p) => [p.code, p]));
}

export interface Attribute {
  id: number;
  readOnly: boolean;
  format: number;
  value: Buffer;
}

/** READ ATTRIBUTE service action 00h: AVAILABLE DATA then attributes (SPC-4 6.17.2, 7.4.1). */
export function decodeAttributes(d: Buffer): { available: number; attributes: Map<number, Attribute> } {
  const available = d.readUInt32BE(0);
  const attributes = new Map<number, Attribute>();
  for (let off = 4; off + 5 <= Math.min(d.length, 4 + available);) {
    const len = d.readUInt16BE(off + 3);
    attributes.set(d.readUInt16BE(off), {
      id: d.readUInt16BE(off),
      readOnly: (d[off + 2] & 0x80) !== 0,
      format: d[off + 2] & 0x03,
      value: d.subarray(off + 5, off + 5 + len),
    });
    off += 5 + len;
  }
  return { available, attributes };
}

/** WRITE ATTRIBUTE parameter list: PARAMETER DATA LENGTH then id, format, length, value each. */
export function attributeList(...attrs: { id: number; format: number; value: Buffer }[]): Buffer {
  const parts = attrs.map((a) => {
    const h = Buffer.alloc(5);
    h.writeUInt16BE(a.id, 0);
    h[2] = a.format;
    h.writeUInt16BE(a.value.length, 3);
    return Buffer.concat([h, a.value]);
  });
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** ASCII padded with spaces to `n` (how PBS and SPC-4 fill ASCII attributes). */
export function padded(s: string, n: number): Buffer {
  const b = Buffer.alloc(n, 0x20);
  b.write(s, 'latin1');
  return b;
}

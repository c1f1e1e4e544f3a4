/**
 * The text format of Login and Text data segments (RFC 7143 6.1): `key=value` pairs, each
 * terminated by a NUL byte, UTF-8. Keys are at most 63 bytes; values at most 255 bytes unless
 * the key says otherwise (RFC 7143 6.1, 13.*). A long text may be split over several PDUs
 * (C bit), so the parser works on the reassembled bytes.
 */

export interface TextPair {
  readonly key: string;
  readonly value: string;
}

export class TextFormatError extends Error {}

export const MAX_KEY_LENGTH = 63;

/** Parses reassembled text; a pair without '=' or an over-long key is a format error. */
export function parseTextPairs(data: Buffer | null): TextPair[] {
  if (!data || data.length === 0) return [];
  const out: TextPair[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    if (end > start) {
      const s = data.toString('utf8', start, end);
      const eq = s.indexOf('=');
      if (eq <= 0)
        throw new TextFormatError(`text pair without key=value: ${JSON.stringify(s.slice(0, 64))}`);
      const key = s.slice(0, eq);
      if (Buffer.byteLength(key) > MAX_KEY_LENGTH)
        throw new TextFormatError(`key longer than 63 bytes: ${key.slice(0, 64)}`);
      out.push({ key, value: s.slice(eq + 1) });
    }
    start = end + 1;
  }
  return out;
}

export function serializeTextPairs(pairs: readonly TextPair[]): Buffer {
  return Buffer.from(pairs.map((p) => `${p.key}=${p.value}\0`).join(''), 'utf8');
}

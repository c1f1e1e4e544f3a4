import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeChunk,
  decodeHeader,
  encodeChunk,
  encodeHeader,
  HEADER_LENGTH,
  loadEncryptionKey,
  plainLimit,
  unwrapDataKey,
  wrapDataKey,
  type PlainSource,
} from '../../src/migrate/format.js';
import { MigrationError } from '../../src/migrate/remote.js';
import { TempDirs, writeKey } from './support.js';

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

function source(data: Buffer): PlainSource {
  return {
    read(offset, target) {
      data.copy(target, 0, offset, offset + target.length);
      return Promise.resolve();
    },
  };
}

const exportId = randomBytes(16);

async function roundTrip(
  data: Buffer,
  level: number | null,
  key: Buffer | null,
  dir: string,
): Promise<Buffer> {
  const path = join(dir, 'c');
  const header = { index: 2, count: 3, exportId, plainOffset: 0, plainLength: data.length };
  const enc = await encodeChunk({
    source: source(data),
    header,
    compressionLevel: level,
    dataKey: key,
    outPath: path,
  });
  expect(enc.size).toBe(readFileSync(path).length);
  const parts: Buffer[] = [];
  const flags = (level !== null ? 1 : 0) | (key !== null ? 2 : 0);
  await decodeChunk({
    path,
    chunk: 'T.img.000002',
    expect: { ...header, flags },
    dataKey: key,
    sink: (b) => {
      parts.push(Buffer.from(b));
      return Promise.resolve();
    },
  });
  return Buffer.concat(parts);
}

describe('chunk format', () => {
  it('header fields round-trip at their documented offsets', () => {
    const h = {
      version: 1,
      flags: 3,
      index: 7,
      count: 9,
      exportId,
      plainOffset: 2 ** 40,
      plainLength: 12345,
      nonce: randomBytes(12),
    };
    const b = encodeHeader(h);
    expect(b.length).toBe(HEADER_LENGTH);
    expect(b.subarray(0, 4).toString('latin1')).toBe('VTLX');
    expect(b.readUInt32BE(8)).toBe(7);
    expect(b.subarray(16, 32)).toEqual(exportId);
    expect(decodeHeader(b, 'x')).toEqual(h);
  });

  it('never lets an incompressible chunk exceed chunkSize', () => {
    for (const size of [4096, 100_000, 10 << 20]) {
      const limit = plainLimit(size, true, true);
      expect(limit).toBeGreaterThan(size * 0.98 - 200);
      expect(limit).toBeLessThan(size);
    }
  });

  it('round-trips plain, compressed, encrypted and both', async () => {
    const dir = tmp.make();
    const data = Buffer.concat([
      Buffer.alloc(300_000, 'abc'),
      randomBytes(200_000),
      Buffer.alloc(3_000_000, 7),
    ]);
    const key = randomBytes(32);
    for (const [level, k] of [
      [null, null],
      [1, null],
      [null, key],
      [3, key],
    ] as const) {
      expect((await roundTrip(data, level, k, dir)).equals(data)).toBe(true);
    }
    expect((await roundTrip(Buffer.alloc(0), 1, key, dir)).length).toBe(0);
  });

  it('binds the chunk index: a chunk presented at another position fails authentication', async () => {
    const dir = tmp.make();
    const path = join(dir, 'c');
    const data = randomBytes(5000);
    const key = randomBytes(32);
    const header = { index: 1, count: 2, exportId, plainOffset: 0, plainLength: data.length };
    await encodeChunk({ source: source(data), header, compressionLevel: 1, dataKey: key, outPath: path });
    const raw = readFileSync(path);
    raw.writeUInt32BE(2, 8); // rewrite the index in the header
    writeFileSync(path, raw);
    const err = await decodeChunk({
      path,
      chunk: 'T.img.000001',
      expect: { ...header, index: 2, flags: 3 },
      dataKey: key,
      sink: () => Promise.resolve(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).message).toBe(
      'T.img.000001: authentication failed (wrong key or altered chunk)',
    );
  });

  it('wraps the data key with RSA-OAEP and refuses another key', async () => {
    const dir = tmp.make();
    mkdirSync(join(dir, 'ks'));
    writeKey(join(dir, 'ks'), 'a.pem');
    writeKey(join(dir, 'ks'), 'b.pem');
    const a = await loadEncryptionKey(join(dir, 'ks'), 'a.pem');
    const b = await loadEncryptionKey(join(dir, 'ks'), 'b.pem');
    const dk = randomBytes(32);
    const wrapped = wrapDataKey(a, dk);
    expect(wrapped.length).toBe(256);
    expect(unwrapDataKey(a, wrapped)).toEqual(dk);
    expect(() => unwrapDataKey(b, wrapped)).toThrow();
    await expect(loadEncryptionKey(join(dir, 'ks'), 'none.pem')).rejects.toThrow(
      /encryption key .*none\.pem/,
    );
  });
});

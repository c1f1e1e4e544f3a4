import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/target/transport/crc32c.js';
import { createTransport, nativeAvailable } from '../../../src/target/transport/index.js';
import { createNativeTransport, loadNative } from '../../../src/target/transport/native.js';
import { describeTransport } from './transport-contract.js';

describeTransport('native', createNativeTransport);

describe('native binding', () => {
  it('is built and found by the loader', () => {
    expect(nativeAvailable()).toBe(true);
    expect(createTransport('native').name).toBe('native');
    expect(createTransport('net').name).toBe('net');
  });

  it('computes the same CRC32C as the JS implementation', () => {
    const native = loadNative();
    expect(native.crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    for (let i = 0; i < 200; i++) {
      const buf = randomBytes(i * 37 + (i % 9));
      const sub = buf.subarray(i % 5);
      expect(native.crc32c(sub)).toBe(crc32c(sub));
      expect(native.crc32c(sub, 0x12345678)).toBe(crc32c(sub, 0x12345678));
    }
  });

  it('checks argument types with TypeError', () => {
    const native = loadNative();
    expect(() => native.crc32c('abc' as unknown as Buffer)).toThrow(TypeError);
    expect(() => new native.Listener(1 as unknown as string, 0, () => undefined)).toThrow(TypeError);
    expect(() => new native.Listener('127.0.0.1', 70000, () => undefined)).toThrow(RangeError);
    expect(() => new native.Listener('example.com', 0, () => undefined)).toThrow(/IPv4 or IPv6 literal/);
  });

  it('refuses to construct a Connection from JS or to call its methods on another object', () => {
    const native = loadNative();
    const Ctor = native.Connection as unknown as new () => unknown;
    expect(() => new Ctor()).toThrow(/made by a Listener/);
    const send = (native.Connection.prototype as unknown as { send: (...a: unknown[]) => unknown }).send;
    expect(() => send.call({}, Buffer.alloc(48), null)).toThrow(/receiver is not a Connection/);
  });

  it('reports a port in use as ERR_TRANSPORT', async () => {
    const transport = createNativeTransport();
    const first = await transport.listen({ host: '127.0.0.1', port: 0 }, () => undefined);
    try {
      await expect(
        transport.listen({ host: '127.0.0.1', port: first.port }, () => undefined),
      ).rejects.toMatchObject({ code: 'ERR_TRANSPORT', message: /bind Address already in use/ });
    } finally {
      await first.close();
    }
  });

  it('refuses a host name it would have to look up', async () => {
    await expect(
      createNativeTransport().listen({ host: 'example.com', port: 0 }, () => undefined),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});

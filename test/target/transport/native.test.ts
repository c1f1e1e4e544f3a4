import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/target/transport/crc32c.js';
import { createTransport, nativeAvailable } from '../../../src/target/transport/index.js';
import { createNativeTransport, loadNative } from '../../../src/target/transport/native.js';
import { describeTransport } from './transport-contract.js';

describeTransport('native', createNativeTransport);

/** An implementation independent of the addon (crc32c.ts prefers the addon when it loads). */
const fast = createRequire(import.meta.url)('fast-crc32c') as {
  calculate(b: Buffer, initial?: number): number;
};

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
      expect(native.crc32c(sub, 0x12345678)).toBe(fast.calculate(sub, 0x12345678) >>> 0);
    }
    // Around the three-stream block sizes (3 x 256 and 3 x 8192 bytes) and well beyond.
    for (const n of [767, 768, 769, 1536, 24_575, 24_576, 24_577, 49_152 + 770, 262_144, 262_147]) {
      const buf = randomBytes(n + 3);
      for (const sub of [buf.subarray(0, n), buf.subarray(3)]) {
        expect(native.crc32c(sub, 0xdeadbeef)).toBe(fast.calculate(sub, 0xdeadbeef) >>> 0);
        expect(crc32c(sub)).toBe(fast.calculate(sub) >>> 0);
      }
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

  it('stops polling for the next PDU once an initiator goes quiet', async () => {
    // After a round that answered, the connection polls its socket briefly instead of sleeping
    // (queue depth 1 latency); an idle peer must not keep it busy.
    const transport = createNativeTransport();
    const listener = await transport.listen({ host: '127.0.0.1', port: 0 }, (conn) =>
      conn.setHandler({
        onPdus: (batch) => {
          for (const p of batch) conn.send(Buffer.from(p.bhs), null);
        },
        onError: () => undefined,
        onClose: () => undefined,
        onDrain: () => undefined,
      }),
    );
    const socket = net.connect({ host: '127.0.0.1', port: listener.port });
    try {
      await new Promise((r) => socket.once('connect', r));
      const bhs = Buffer.alloc(48);
      for (let i = 0; i < 200; i++) {
        const answered = new Promise((r) => socket.once('data', r));
        socket.write(bhs);
        await answered;
      }
      const before = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 500));
      const used = process.cpuUsage(before);
      // Spinning all along would cost about 500 ms of CPU; giving up costs a fraction of one.
      expect((used.user + used.system) / 1000).toBeLessThan(150);
    } finally {
      socket.destroy();
      await listener.close();
    }
  });

  it('refuses a host name it would have to look up', async () => {
    await expect(
      createNativeTransport().listen({ host: 'example.com', port: 0 }, () => undefined),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});

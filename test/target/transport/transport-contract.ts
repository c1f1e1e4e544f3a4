/**
 * The contract every Transport passes (STYLE habit 11): run by net.test.ts and native.test.ts
 * over real loopback sockets, with a plain node:net client that frames with PduFramer.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PduFramer } from '../../../src/target/transport/framer.js';
import type {
  Connection,
  ConnectionHandler,
  Listener,
  Pdu,
  Transport,
} from '../../../src/target/transport/types.js';
import type { VtlError } from '../../../src/util/errors.js';
import { type PduSpec, makeHeader, patternData, sampleSpecs, wire } from './fixtures.js';

const HOST = '127.0.0.1';
const MiB = 1024 * 1024;

interface ServerConn {
  conn: Connection;
  batches: Pdu[][];
  errors: VtlError[];
  closes: number;
  drains: number;
  closed: Promise<void>;
}

class Client {
  readonly framer = new PduFramer();
  readonly pdus: Pdu[] = [];
  bytes = 0;
  ended = false;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    this.framer.setMaxRecvDataSegmentLength(0xffffff);
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.framer.push(chunk, this.pdus);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(n: number): Promise<Pdu[]> {
    while (this.pdus.length < n) {
      if (this.ended) throw new Error(`connection ended after ${this.pdus.length} of ${n} PDUs`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.pdus;
  }

  send(specs: PduSpec[], hd = false, dd = false): void {
    this.socket.write(Buffer.concat(specs.map((s) => wire(s, hd, dd))));
  }
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function headerOf(pdu: Pdu): Buffer {
  return pdu.ahs ? Buffer.concat([pdu.bhs, pdu.ahs]) : Buffer.from(pdu.bhs);
}

function expectSame(pdu: Pdu, spec: PduSpec): void {
  const header = makeHeader(spec);
  expect(pdu.bhs.equals(header.subarray(0, 48))).toBe(true);
  expect((pdu.ahs ?? Buffer.alloc(0)).equals(header.subarray(48))).toBe(true);
  const data = spec.data && spec.data.length > 0 ? spec.data : null;
  if (data) expect(pdu.data?.equals(data)).toBe(true);
  else expect(pdu.data).toBeNull();
}

export function describeTransport(name: string, factory: () => Transport): void {
  describe(`Transport contract: ${name}`, () => {
    let listener: Listener | null = null;
    const clients: Client[] = [];

    afterEach(async () => {
      for (const c of clients.splice(0)) c.socket.destroy();
      await listener?.close();
      listener = null;
    });

    /** Starts a listener; `setup` adds behaviour to each accepted connection. */
    async function start(
      setup: (s: ServerConn) => Partial<ConnectionHandler> | void = () => undefined,
    ): Promise<{ port: number; accepted: Promise<ServerConn> }> {
      const transport = factory();
      let accept!: (s: ServerConn) => void;
      const accepted = new Promise<ServerConn>((r) => (accept = r));
      listener = await transport.listen({ host: HOST, port: 0 }, (conn) => {
        let markClosed!: () => void;
        const s: ServerConn = {
          conn,
          batches: [],
          errors: [],
          closes: 0,
          drains: 0,
          closed: new Promise<void>((r) => (markClosed = r)),
        };
        const extra = setup(s) ?? {};
        conn.setHandler({
          onPdus: (batch) => {
            s.batches.push([...batch]);
            extra.onPdus?.(batch);
          },
          onError: (err) => {
            s.errors.push(err);
            extra.onError?.(err);
          },
          onClose: () => {
            s.closes++;
            markClosed();
          },
          onDrain: () => {
            s.drains++;
            extra.onDrain?.();
          },
        });
        accept(s);
      });
      return { port: listener.port, accepted };
    }

    async function connect(port: number): Promise<Client> {
      const socket = net.connect({ host: HOST, port });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const c = new Client(socket);
      clients.push(c);
      return c;
    }

    const echo = (s: ServerConn): Partial<ConnectionHandler> => ({
      onPdus: (batch) => {
        for (const p of batch) s.conn.send(headerOf(p), p.data);
      },
    });

    it('listens on the asked host with a real port and reports both ends', async () => {
      const { port, accepted } = await start();
      expect(listener!.host).toBe(HOST);
      expect(port).toBeGreaterThan(0);
      const c = await connect(port);
      const s = await accepted;
      expect(s.conn.localAddress).toBe(HOST);
      expect(s.conn.localPort).toBe(port);
      expect(s.conn.remoteAddress).toBe(HOST);
      expect(s.conn.remotePort).toBe(c.socket.localPort);
    });

    it('echoes many PDUs of every shape, batched per read', async () => {
      const { port } = await start(echo);
      const c = await connect(port);
      const specs: PduSpec[] = [];
      for (let i = 0; i < 60; i++) for (const s of sampleSpecs()) specs.push({ ...s, itt: specs.length });
      c.send(specs.slice(0, 200));
      for (const s of specs.slice(200)) c.send([s]);
      const got = await c.waitFor(specs.length);
      got.forEach((p, i) => expectSame(p, specs[i]));
    });

    it('delivers several PDUs from one read in one batch', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      const specs = Array.from({ length: 50 }, (_, i) => ({ opcode: 0, itt: i, ahsWords: 0, data: null }));
      c.send(specs);
      const s = await accepted;
      while (s.batches.flat().length < 50) await tick(5);
      expect(s.batches.length).toBeLessThan(50);
    });

    for (const [hd, dd] of [
      [false, false],
      [true, true],
      [true, false],
    ] as const) {
      it(`frames a stream that arrives in small pieces (digests ${hd}/${dd})`, async () => {
        const { port, accepted } = await start((s) => s.conn.setDigests(hd, dd));
        const c = await connect(port);
        c.socket.setNoDelay(true);
        const specs: PduSpec[] = [];
        for (let i = 0; i < 3; i++) for (const s of sampleSpecs()) specs.push({ ...s, itt: specs.length });
        const stream = Buffer.concat(specs.map((s) => wire(s, hd, dd)));
        let seed = 7;
        for (let off = 0; off < stream.length;) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          const n = 1 + (seed % 97);
          c.socket.write(stream.subarray(off, off + n));
          off += n;
          await new Promise((r) => setImmediate(r));
        }
        const s = await accepted;
        while (s.batches.flat().length < specs.length && s.errors.length === 0) await tick(5);
        expect(s.errors).toHaveLength(0);
        s.batches.flat().forEach((p, i) => expectSame(p, specs[i]));
      });
    }

    it('frames large segments arriving in pieces, digests on', async () => {
      const { port, accepted } = await start((s) => {
        s.conn.setDigests(true, true);
        s.conn.setMaxRecvDataSegmentLength(512 * 1024);
      });
      const c = await connect(port);
      const sizes = [70_000, 5, 300_001, 0, 65_536, 131_071, 48, 200_000];
      const specs: PduSpec[] = sizes.map((n, i) => ({
        opcode: 5,
        itt: i,
        ahsWords: i % 2,
        data: n > 0 ? patternData(n, i) : null,
      }));
      const stream = Buffer.concat(specs.map((s) => wire(s, true, true)));
      let seed = 11;
      for (let off = 0; off < stream.length;) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = 1 + (seed % 70_000);
        c.socket.write(stream.subarray(off, off + n));
        off += n;
        await new Promise((r) => setImmediate(r));
      }
      const s = await accepted;
      while (s.batches.flat().length < specs.length && s.errors.length === 0) await tick(5);
      expect(s.errors).toHaveLength(0);
      s.batches.flat().forEach((p, i) => {
        expectSame(p, specs[i]);
        expect(p.dataDigestError).toBe(false);
      });
    });

    it('delivers thousands of small PDUs from one write in order', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      const specs = Array.from({ length: 5000 }, (_, i) => ({
        opcode: 0,
        itt: i,
        ahsWords: 0,
        data: i % 3 === 0 ? patternData(i % 50, i) : null,
      }));
      c.send(specs);
      const s = await accepted;
      while (s.batches.flat().length < specs.length) await tick(5);
      s.batches.flat().forEach((p, i) => expectSame(p, specs[i]));
    });

    it('echoes 1 MiB and small PDUs with both digests on', async () => {
      const { port } = await start((s) => {
        s.conn.setDigests(true, true);
        s.conn.setMaxRecvDataSegmentLength(MiB);
        return echo(s);
      });
      const c = await connect(port);
      c.framer.setDigests(true, true);
      const specs: PduSpec[] = [
        { opcode: 5, itt: 1, ahsWords: 0, data: patternData(MiB, 1) },
        { opcode: 0, itt: 2, ahsWords: 1, data: null },
        { opcode: 5, itt: 3, ahsWords: 0, data: patternData(4093, 3) },
        { opcode: 5, itt: 4, ahsWords: 0, data: patternData(MiB - 1, 4) },
      ];
      c.send(specs, true, true);
      const got = await c.waitFor(specs.length);
      got.forEach((p, i) => {
        expectSame(p, specs[i]);
        expect(p.dataDigestError).toBe(false);
      });
    });

    it('flags a data digest error and keeps the connection', async () => {
      const { port, accepted } = await start((s) => s.conn.setDigests(false, true));
      const c = await connect(port);
      const bad = wire({ opcode: 5, itt: 1, ahsWords: 0, data: patternData(100, 1) }, false, true);
      bad[60] ^= 0xff;
      c.socket.write(bad);
      c.send([{ opcode: 5, itt: 2, ahsWords: 0, data: patternData(100, 2) }], false, true);
      const s = await accepted;
      while (s.batches.flat().length < 2) await tick(5);
      const [first, second] = s.batches.flat();
      expect(first.dataDigestError).toBe(true);
      expect(second.dataDigestError).toBe(false);
      expect(s.errors).toHaveLength(0);
    });

    it('drops the connection on a header digest error', async () => {
      const { port, accepted } = await start((s) => s.conn.setDigests(true, false));
      const c = await connect(port);
      const bad = wire({ opcode: 1, itt: 1, ahsWords: 0, data: null }, true, false);
      bad[48] ^= 0x01;
      c.socket.write(bad);
      const s = await accepted;
      await s.closed;
      await c.closed;
      expect(s.errors.map((e) => e.code)).toEqual(['ERR_PROTOCOL']);
      expect(s.errors[0].message).toMatch(/^header digest mismatch: computed 0x/);
      expect(s.closes).toBe(1);
      expect(s.batches).toHaveLength(0);
    });

    it('drops the connection on a segment over MaxRecvDataSegmentLength', async () => {
      const { port, accepted } = await start((s) => s.conn.setMaxRecvDataSegmentLength(8192));
      const c = await connect(port);
      const header = makeHeader({ opcode: 5, itt: 1, ahsWords: 0, data: null });
      header.writeUIntBE(8193, 5, 3);
      c.socket.write(header);
      const s = await accepted;
      await s.closed;
      expect(s.errors.map((e) => [e.code, e.message])).toEqual([
        ['ERR_PROTOCOL', 'data segment of 8193 bytes exceeds MaxRecvDataSegmentLength 8192'],
      ]);
      expect(s.closes).toBe(1);
    });

    it('signals backpressure with send() false, then onDrain', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      c.socket.pause();
      const s = await accepted;
      const chunk = patternData(MiB, 9);
      const header = makeHeader({ opcode: 0x25, itt: 0, ahsWords: 0, data: chunk });
      let sent = 0;
      while (s.conn.send(header, chunk)) {
        sent++;
        if (sent > 200) throw new Error('send never returned false');
        // Let the kernel take what it will, so the queue, not the socket buffer, fills.
        await tick(1);
      }
      sent++;
      expect(s.conn.writableLength).toBeGreaterThan(4 * MiB);
      expect(s.drains).toBe(0);
      c.socket.resume();
      await c.waitFor(sent);
      while (s.drains === 0) await tick(5);
      expect(s.drains).toBe(1);
      expect(s.conn.writableLength).toBeLessThanOrEqual(MiB);
      expect(c.pdus.every((p) => p.data?.equals(chunk))).toBe(true);
    });

    it('keeps no reference to sent data: the caller may overwrite it at once', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      c.socket.pause();
      const s = await accepted;
      const expected: Buffer[] = [];
      const scratch = Buffer.allocUnsafe(MiB);
      // Until the kernel's socket buffer is full and the transport itself queues.
      for (let i = 0; i < 8 || s.conn.writableLength === 0; i++) {
        if (i > 200) throw new Error('the send queue never filled');
        // Large (written or copied at once) and small (copied) segments, reused after send.
        const length = i % 2 === 0 ? MiB : 3000;
        patternData(length, i).copy(scratch);
        expected.push(Buffer.from(scratch.subarray(0, length)));
        s.conn.send(
          makeHeader({ opcode: 0x25, itt: i, ahsWords: 0, data: expected[i] }),
          scratch.subarray(0, length),
        );
        scratch.fill(0xee);
      }
      c.socket.resume();
      const got = await c.waitFor(expected.length);
      got.forEach((p, i) => expect(p.data?.equals(expected[i])).toBe(true));
    });

    it('fills a released large data buffer again, and only a released one', async () => {
      const { port, accepted } = await start((s) => s.conn.setMaxRecvDataSegmentLength(512 * 1024));
      const c = await connect(port);
      const s = await accepted;
      const seen: Pdu[] = [];
      /** Sends one 300 KB PDU in two writes, so it is gathered across reads. */
      const sendSplit = async (itt: number): Promise<Pdu> => {
        const bytes = wire({ opcode: 5, itt, ahsWords: 0, data: patternData(300_000, itt) }, false, false);
        c.socket.write(bytes.subarray(0, 1000));
        await tick(20);
        c.socket.write(bytes.subarray(1000));
        while (s.batches.flat().length <= seen.length) await tick(5);
        const pdu = s.batches.flat()[seen.length];
        seen.push(pdu);
        expect(pdu.data?.equals(patternData(300_000, itt))).toBe(true);
        return pdu;
      };
      const first = await sendSplit(1);
      s.conn.releaseData?.(first.data!);
      const second = await sendSplit(2);
      expect(second.data!.buffer).toBe(first.data!.buffer);
      // Not released: the next PDU gets other memory, and `second` keeps its bytes.
      const third = await sendSplit(3);
      expect(third.data!.buffer).not.toBe(second.data!.buffer);
      expect(second.data!.equals(patternData(300_000, 2))).toBe(true);
      // Anything that is not a delivered large buffer is ignored.
      s.conn.releaseData?.(Buffer.alloc(300_000));
      s.conn.releaseData?.(third.data!.subarray(0, 10));
      const fourth = await sendSplit(4);
      expect(fourth.data!.buffer).toBe(third.data!.buffer);
    });

    it('stops delivering while paused and resumes', async () => {
      const { port, accepted } = await start((s) => s.conn.pause());
      const c = await connect(port);
      c.send([{ opcode: 0, itt: 7, ahsWords: 0, data: null }]);
      const s = await accepted;
      await tick(100);
      expect(s.batches).toHaveLength(0);
      s.conn.resume();
      while (s.batches.length === 0) await tick(5);
      expect(s.batches[0][0].bhs.readUInt32BE(16)).toBe(7);
    });

    it('sends at once outside a batch', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      const s = await accepted;
      expect(s.conn.send(makeHeader({ opcode: 0x20, itt: 3, ahsWords: 0, data: null }))).toBe(true);
      const [pdu] = await c.waitFor(1);
      expect(pdu.bhs[0]).toBe(0x20);
    });

    it('reports a peer close once, without an error', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      const s = await accepted;
      c.socket.end();
      await s.closed;
      await tick(20);
      expect(s.closes).toBe(1);
      expect(s.errors).toHaveLength(0);
    });

    it('end() writes everything queued, then closes', async () => {
      const data = patternData(MiB, 5);
      const header = makeHeader({ opcode: 0x25, itt: 1, ahsWords: 0, data });
      const { port, accepted } = await start((s) => ({
        onPdus: () => {
          for (let i = 0; i < 8; i++) s.conn.send(header, data);
          s.conn.end();
        },
      }));
      const c = await connect(port);
      c.send([{ opcode: 0, itt: 1, ahsWords: 0, data: null }]);
      const s = await accepted;
      await c.closed;
      await s.closed;
      expect(c.pdus).toHaveLength(8);
      expect(c.pdus.every((p) => p.data?.equals(data))).toBe(true);
      expect(s.closes).toBe(1);
      s.conn.end();
      s.conn.destroy();
      await tick(20);
      expect(s.closes).toBe(1);
    });

    it('destroy() closes at once and reports the close once', async () => {
      const { port, accepted } = await start();
      const c = await connect(port);
      const s = await accepted;
      s.conn.destroy();
      s.conn.destroy();
      await s.closed;
      await c.closed;
      await tick(20);
      expect(s.closes).toBe(1);
    });

    it('refuses a send whose DataSegmentLength disagrees with the data', async () => {
      const { port, accepted } = await start();
      await connect(port);
      const s = await accepted;
      const header = makeHeader({ opcode: 0x25, itt: 1, ahsWords: 0, data: patternData(4, 1) });
      expect(() => s.conn.send(header, null)).toThrow(
        'send: DataSegmentLength 4 in the BHS does not match 0 bytes of data',
      );
    });

    it('stops accepting after the listener closes', async () => {
      const { port } = await start();
      await listener!.close();
      listener = null;
      await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
    });
  });
}

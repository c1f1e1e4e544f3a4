/**
 * The pure `node:net` transport: the fallback when the native addon is not built, and the
 * cross-check for it in tests. Framing and digests go through framer.ts; PDUs queued during one
 * `onPdus` callback are corked and leave in one gathered write when the callback returns.
 *
 * Receive path: the socket reads into memory we choose (the `onread` option of net.Socket)
 * rather than a fresh 64 KiB buffer per read. Reads go into the free tail of a receive block
 * that small PDUs are delivered as views of (a new block once it is nearly full, the old one
 * left to the views); once a large data segment has begun, the rest of it is read straight into
 * its own (recycled, see `releaseData`) buffer, as the native transport does with readv.
 */
import net from 'node:net';
import { VtlError } from '../../util/errors.js';
import { PduFramer, encodePdu } from './framer.js';
import { SendRing } from './send-ring.js';
import type { Connection, ConnectionHandler, Listener, Portal, Pdu, Transport } from './types.js';

/** Above this many queued bytes `send` returns false; `onDrain` follows once it is written. */
export const SEND_HIGH_WATER_MARK = 4 * 1024 * 1024;
/** After `end`, how long to wait for the peer's FIN before closing anyway. */
const LINGER_MS = 5000;
/** The receive block; below MIN_FREE bytes left it is replaced before the next read. */
const BLOCK_SIZE = 512 * 1024;
const MIN_FREE = 64 * 1024;
/** A pending data segment with at least this much left is read straight into place. */
const DIRECT_MIN = 32 * 1024;
/**
 * After a large PDU, more are likely (Data-Out after Data-Out): read little beyond it into the
 * block, so that the start of the next one, copied out of the block, stays small.
 */
const READ_AFTER_LARGE = 8 * 1024;

let nextConnectionId = 1;

/**
 * At queue depth 1 the next PDU follows our response (or the rest of a PDU its header) within
 * tens of microseconds, and on a virtual machine sleeping in epoll and being woken again costs
 * more than the command itself. The native transport polls the socket for a short while
 * instead (connection.cc SpinForMore). Here the same is done with the event loop: while an
 * immediate is pending, libuv polls for I/O without blocking, so a chain of immediates for
 * SPIN_NS keeps the loop awake and the next read is picked up without a wake-up. Adaptive as
 * the native one: after SPIN_MAX_MISSES spins in a row that saw nothing arrive, a connection
 * asks for no more until its peer is again seen to answer within SPIN_NS.
 */
const SPIN_NS = 50_000n;
const SPIN_MAX_MISSES = 4;

const loopSpin = {
  until: 0n,
  running: false,
  /** Keeps the loop polling without sleeping until at least `until`. */
  hold(until: bigint): void {
    if (until > this.until) this.until = until;
    if (!this.running) {
      this.running = true;
      setImmediate(spinStep);
    }
  },
};

function spinStep(): void {
  if (process.hrtime.bigint() < loopSpin.until) setImmediate(spinStep);
  else loopSpin.running = false;
}

class NetConnection implements Connection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  private handler: ConnectionHandler | null = null;
  private readonly framer = new PduFramer();
  private readonly ring = new SendRing();
  private readonly released = (): void => this.ring.release();
  private headerDigest = false;
  private dataDigest = false;
  private needDrain = false;
  private ending = false;
  private closed = false;
  /** Bytes [0, fill) of the block are seen by delivered PDUs; the next read goes after them. */
  private block = Buffer.allocUnsafe(BLOCK_SIZE);
  private fill = 0;
  /** The buffer the socket reads into next, and whether it is the framer's pending segment. */
  private readBuffer: Buffer | null = null;
  private direct = false;
  private afterLarge = false;
  /** Spinning for this connection (SPIN_NS): until when (0n: not), misses in a row, last send. */
  private spinUntil = 0n;
  private spinMisses = 0;
  private lastSend = 0n;
  private readonly socket: net.Socket;

  constructor(accepted: net.Socket) {
    const socket = adoptWithOnread(accepted, {
      buffer: () => this.nextReadBuffer(),
      // True: go on reading; receive backpressure is `pause`, which stops the handle itself.
      callback: (nread) => {
        this.onRead(nread);
        return true;
      },
    });
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    socket.on('drain', () => this.onSocketDrain());
    socket.on('error', (err: Error) => this.onSocketError(err));
    socket.on('close', () => this.onSocketClose());
    // After `end`, the peer's FIN completes the close; without allowHalfOpen Node ends our side.
    socket.on('end', () => socket.destroy());
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  setDigests(header: boolean, data: boolean): void {
    this.headerDigest = header;
    this.dataDigest = data;
    this.framer.setDigests(header, data);
  }

  setMaxRecvDataSegmentLength(bytes: number): void {
    this.framer.setMaxRecvDataSegmentLength(bytes);
  }

  send(header: Buffer, data?: Buffer | null): boolean {
    if (this.closed || this.ending || this.socket.destroyed) return false;
    const pieces = encodePdu(header, data, this.headerDigest, this.dataDigest);
    const socket = this.socket;
    // The socket keeps what it is given until written, and the caller may reuse its buffers as
    // soon as send returns: the PDU is copied, into the ring when it fits (its region is free
    // again once written), else into a buffer of its own.
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const region = this.ring.take(total);
    const copy = region ?? Buffer.allocUnsafe(total);
    let at = 0;
    for (const piece of pieces) at += piece.copy(copy, at);
    if (region) socket.write(copy, this.released);
    else socket.write(copy);
    // The window for the peer's next PDU opens when the answer leaves, not when the command came.
    const now = process.hrtime.bigint();
    this.lastSend = now;
    if (this.spinUntil !== 0n) {
      this.spinUntil = now + SPIN_NS;
      loopSpin.hold(this.spinUntil);
    }
    if (socket.writableLength > SEND_HIGH_WATER_MARK) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  releaseData(data: Buffer): void {
    this.framer.release(data);
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.ending) this.socket.resume();
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    // Keep reading (and dropping) so that the peer's FIN is seen and unread bytes do not turn
    // our close into a reset that could discard what is still queued.
    this.socket.resume();
    this.socket.end(() => {
      setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
    });
  }

  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
  }

  /** Where the socket reads next; called after every read (and once at construction). */
  private nextReadBuffer(): Buffer {
    const space = this.framer.pendingSpace();
    if (space !== null && space.length >= DIRECT_MIN) {
      this.direct = true;
      this.readBuffer = space;
      return space;
    }
    this.direct = false;
    if (BLOCK_SIZE - this.fill < MIN_FREE) {
      this.block = Buffer.allocUnsafe(BLOCK_SIZE);
      this.fill = 0;
    }
    const end = this.afterLarge ? this.fill + READ_AFTER_LARGE : BLOCK_SIZE;
    this.readBuffer = this.block.subarray(this.fill, end);
    return this.readBuffer;
  }

  /** `nread` bytes arrived at the start of the buffer `nextReadBuffer` gave last. */
  private onRead(nread: number): void {
    if (this.ending || this.closed) return;
    const handler = this.handler;
    if (handler === null) {
      this.fail(new VtlError('ERR_STATE', 'connection received data before setHandler was called'));
      return;
    }
    const batch: Pdu[] = [];
    let error: VtlError | null = null;
    const direct = this.direct;
    try {
      if (direct) this.framer.commit(nread, batch);
      else this.framer.push(this.readBuffer!.subarray(0, nread), batch);
    } catch (err) {
      error = err as VtlError;
    }
    this.afterLarge = direct && batch.length > 0;
    // The framer keeps nothing of the block: what no delivered PDU views is read over again.
    if (!direct && this.viewsBlock(batch)) this.fill += nread;
    const now = process.hrtime.bigint();
    this.noteArrival(now);
    if (batch.length > 0) {
      this.socket.cork();
      try {
        handler.onPdus(batch);
      } finally {
        this.socket.uncork();
      }
    }
    if (error) {
      this.fail(error);
      return;
    }
    // Something more is awaited soon: the next command once this batch is answered (commands
    // run from microtasks, after this returns), or the rest of a PDU.
    if ((batch.length > 0 || !this.framer.idle) && this.spinMisses < SPIN_MAX_MISSES) {
      this.spinUntil = process.hrtime.bigint() + SPIN_NS;
      loopSpin.hold(this.spinUntil);
    } else {
      this.spinUntil = 0n;
    }
  }

  /** Adaptive spin bookkeeping when bytes arrive at `now`: did the last spin catch them? */
  private noteArrival(now: bigint): void {
    if (this.spinUntil !== 0n) {
      if (now <= this.spinUntil) this.spinMisses = 0;
      else this.spinMisses++;
    } else if (this.spinMisses >= SPIN_MAX_MISSES && now - this.lastSend < SPIN_NS) {
      // The peer answered this fast after our last PDU: spinning pays again.
      this.spinMisses = 0;
    }
  }

  private viewsBlock(batch: readonly Pdu[]): boolean {
    const memory = this.block.buffer;
    for (const pdu of batch) {
      if (pdu.bhs.buffer === memory || (pdu.data !== null && pdu.data.buffer === memory)) return true;
    }
    return false;
  }

  private onSocketDrain(): void {
    if (!this.needDrain || this.closed) return;
    this.needDrain = false;
    this.handler?.onDrain();
  }

  private onSocketError(err: Error): void {
    // After end() a reset or error is the peer's way of closing, not news for the owner.
    if (this.ending) return;
    this.handler?.onError(new VtlError('ERR_TRANSPORT', `socket error: ${err.message}`, { cause: err }));
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler?.onClose();
  }

  private fail(err: VtlError): void {
    if (this.closed) return;
    this.handler?.onError(err);
    this.socket.destroy();
  }
}

/**
 * Re-wraps a socket the server accepted (with `pauseOnConnect`, so it has not read yet) as a
 * socket that reads into memory of our choosing. net.Server takes no `onread` option; the
 * accepted socket's libuv handle (`_handle`) is passed to a new net.Socket, the way net.Server
 * itself builds the accepted socket. The first wrapper is destroyed without its handle, which
 * only drops it from the server's connection count.
 */
function adoptWithOnread(accepted: net.Socket, onread: net.OnReadOpts): net.Socket {
  const inner = accepted as unknown as { _handle: object | null };
  const handle = inner._handle;
  if (handle === null || typeof handle !== 'object') {
    throw new VtlError('ERR_TRANSPORT', 'accepted socket has no handle to read from');
  }
  inner._handle = null;
  accepted.destroy();
  return new net.Socket({ handle, onread } as net.SocketConstructorOpts);
}

class NetListener implements Listener {
  constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  close(): Promise<void> {
    // server.close's callback waits for every open connection; only the accepting stops here.
    // The listening socket is closed in the loop's close phase, which follows the check phase
    // of this iteration: resolve from the next iteration's check phase.
    this.server.close();
    return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  }
}

class NetTransport implements Transport {
  readonly name = 'net' as const;

  listen(portal: Portal, onConnection: (conn: Connection) => void): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
        let conn: NetConnection;
        try {
          conn = new NetConnection(socket);
        } catch {
          // Closed before it could be adopted (no handle left): nothing to hand over.
          socket.destroy();
          return;
        }
        onConnection(conn);
      });
      server.once('error', (err) =>
        reject(
          new VtlError('ERR_TRANSPORT', `cannot listen on ${portal.host}:${portal.port}: ${err.message}`, {
            cause: err,
          }),
        ),
      );
      server.listen({ host: portal.host, port: portal.port }, () => {
        const addr = server.address() as net.AddressInfo;
        resolve(new NetListener(server, addr.address, addr.port));
      });
    });
  }
}

export function createNetTransport(): Transport {
  return new NetTransport();
}

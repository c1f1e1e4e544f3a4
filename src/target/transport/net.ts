/**
 * The pure `node:net` transport: the fallback when the native addon is not built, and the
 * cross-check for it in tests. Framing and digests go through framer.ts; PDUs queued during one
 * `onPdus` callback are corked and leave in one gathered write when the callback returns.
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

let nextConnectionId = 1;

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

  constructor(private readonly socket: net.Socket) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
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

  private onData(chunk: Buffer): void {
    if (this.ending || this.closed) return;
    const handler = this.handler;
    if (handler === null) {
      this.fail(new VtlError('ERR_STATE', 'connection received data before setHandler was called'));
      return;
    }
    const batch: Pdu[] = [];
    let error: VtlError | null = null;
    try {
      this.framer.push(chunk, batch);
    } catch (err) {
      error = err as VtlError;
    }
    if (batch.length > 0) {
      this.socket.cork();
      try {
        handler.onPdus(batch);
      } finally {
        this.socket.uncork();
      }
    }
    if (error) this.fail(error);
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
      const server = net.createServer({ noDelay: true }, (socket) => {
        const conn = new NetConnection(socket);
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

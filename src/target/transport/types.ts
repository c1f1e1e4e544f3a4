/**
 * The contract between the socket layer and the iSCSI protocol logic. Two implementations:
 * the native one (C++, node-addon-api: framing, CRC32C digests and gathered writes in C++) and
 * a pure `node:net` one. The protocol layer cannot tell them apart; the test suite runs against
 * both.
 */
import type { VtlError } from '../../util/errors.js';

/** One whole iSCSI PDU as received (RFC 7143 11.2). */
export interface Pdu {
  /** The 48-byte Basic Header Segment. */
  readonly bhs: Buffer;
  /** The Additional Header Segments (TotalAHSLength * 4 bytes), or null when there are none. */
  readonly ahs: Buffer | null;
  /** The data segment without padding, or null when DataSegmentLength is 0. */
  readonly data: Buffer | null;
  /**
   * True when data digests are on and the data digest did not match. The header is trusted
   * (its digest, if on, was checked); the protocol layer answers with a Reject (reason 0x02).
   */
  readonly dataDigestError: boolean;
}

/** Callbacks a connection delivers to its owner. Set with `Connection.setHandler`. */
export interface ConnectionHandler {
  /** Whole PDUs in arrival order, in batches (all the PDUs one socket read completed). */
  onPdus(batch: readonly Pdu[]): void;
  /**
   * A fatal transport or framing error: header digest mismatch, a data segment longer than
   * MaxRecvDataSegmentLength, a socket error. The connection is closed right after; `onClose`
   * follows.
   */
  onError(err: VtlError): void;
  /** The connection is closed (by the peer, by `end`/`destroy`, or after an error). Called once. */
  onClose(): void;
  /** The send queue fell below the low water mark after `send` returned false. */
  onDrain(): void;
}

export interface Connection {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Must be called synchronously inside the listener's onConnection callback. */
  setHandler(handler: ConnectionHandler): void;
  /**
   * CRC32C header and data digests (RFC 7143 11.1, 13.1). Applies to PDUs sent after this call
   * and to bytes framed after this call.
   */
  setDigests(header: boolean, data: boolean): void;
  /**
   * The largest data segment this side accepts (our declared MaxRecvDataSegmentLength). A
   * PDU announcing a longer segment is a fatal framing error, detected before any allocation.
   */
  setMaxRecvDataSegmentLength(bytes: number): void;
  /**
   * Queues one PDU. `header` is the BHS followed by any AHS, with DataSegmentLength already set
   * to `data.length`; padding and digests are added here. PDUs queued during one `onPdus`
   * callback go out together in one gathered write (a large data segment may leave at once,
   * after what was queued before it). Neither buffer is referenced once `send` returns: the
   * caller may reuse their memory (a read-ahead window, for instance). Returns false once more
   * than the high water mark is queued (the PDU is still queued); `onDrain` follows.
   */
  send(header: Buffer, data?: Buffer | null): boolean;
  /**
   * Optional: the owner no longer uses `data`, the data segment of a PDU this connection
   * delivered, nor any view of it; its memory may be filled by a later PDU. Saves allocating
   * (and garbage collecting) a buffer per large PDU. Any other buffer is ignored.
   */
  releaseData?(data: Buffer): void;
  /** Bytes queued and not yet written to the socket. */
  readonly writableLength: number;
  /** Stop reading from the socket (receive backpressure); `resume` starts again. */
  pause(): void;
  resume(): void;
  /** Writes what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping what is queued. */
  destroy(): void;
}

export interface Portal {
  readonly host: string;
  readonly port: number;
}

export interface Listener {
  /** The bound address (port is the real one when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  /** Stops accepting; open connections are left to their owners. */
  close(): Promise<void>;
}

export interface Transport {
  readonly name: 'native' | 'net';
  listen(portal: Portal, onConnection: (conn: Connection) => void): Promise<Listener>;
}

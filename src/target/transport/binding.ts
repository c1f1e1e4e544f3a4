// Types only: a .ts file (not .d.ts) so that tsc emits its declarations into dist.
/**
 * The raw binding of build/Release/vtl_native.node (native/*.cc), written by hand (the zstd-napi
 * habit): every native entry point and its argument types. All convenience — Pdu objects,
 * VtlError, the Connection interface — lives in native.ts. Wrong argument types throw TypeError.
 */

/**
 * Per-PDU descriptors of one batch, `META_FIELDS` u32 each, written by C++ into one array per
 * connection (see `NativeConnection.meta`) and read by JS before `onPdus` returns:
 *   [0] source: 0 = the batch's block, k + 1 = `larges[k]` (BHS, AHS and data all live there)
 *   [1] BHS offset   [2] AHS length   [3] data offset   [4] data length (0: no data segment)
 *   [5] flags: bit 0 = the data digest did not match
 */
export interface NativeConnectionCallbacks {
  /**
   * `count` PDUs are described in `meta()`. `block` is the receive block the small PDUs are
   * views of; `larges` holds PDUs whose data segment was read into a buffer of its own.
   */
  onPdus(count: number, block: Buffer | undefined, larges: Buffer[] | undefined): void;
  onError(code: 'ERR_PROTOCOL' | 'ERR_TRANSPORT', message: string): void;
  onClose(): void;
  onDrain(): void;
}

export declare class NativeConnection {
  /** Connections are made by a listener only; constructing one from JS throws TypeError. */
  private constructor();
  /** Must be called inside the listener's onConnection; reading starts once it returns. */
  setCallbacks(callbacks: NativeConnectionCallbacks): void;
  /** The descriptor array `onPdus` fills (META_FIELDS u32 per PDU). */
  meta(): Uint32Array;
  setDigests(header: boolean, data: boolean): void;
  setMaxRecvDataSegmentLength(bytes: number): void;
  /** `header` is copied; `data` is written at once or copied: it is not referenced afterwards. */
  send(header: Buffer, data: Buffer | null): boolean;
  /**
   * JS no longer uses `data`, a view of a buffer `onPdus` delivered in `larges`: the buffer may
   * be filled by a later PDU. False (and nothing happens) for any other buffer.
   */
  recycle(data: Buffer): boolean;
  writableLength(): number;
  pause(): void;
  resume(): void;
  end(): void;
  destroy(): void;
}

export declare class NativeListener {
  /** Binds and listens on an IPv4 or IPv6 literal; throws Error naming the errno on failure. */
  constructor(
    host: string,
    port: number,
    onConnection: (
      conn: NativeConnection,
      remoteAddress: string,
      remotePort: number,
      localAddress: string,
      localPort: number,
    ) => void,
  );
  port(): number;
  /** Stops accepting; `onClosed` runs once the socket is closed. */
  close(onClosed?: () => void): void;
}

export interface NativeBinding {
  Listener: typeof NativeListener;
  Connection: typeof NativeConnection;
  /** Number of u32 fields per PDU in `meta()`. */
  META_FIELDS: number;
  /** CRC32C of `buf` continuing from `initial` (0 by default); unsigned. */
  crc32c(buf: Uint8Array, initial?: number): number;
  /** True when the SSE4.2 crc32 instruction is in use rather than the table. */
  crc32cHardware: boolean;
}

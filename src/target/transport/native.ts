/**
 * The native transport: accept, read, framing, CRC32C digests and gathered writes happen in C++
 * (native/*.cc) on Node's own libuv loop; this file is the one loader of the addon and turns its
 * raw batches into `Pdu` objects. Small PDUs are views of one receive block per batch; large data
 * segments arrive in buffers of their own — no per-PDU copy on either path.
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { VtlError } from '../../util/errors.js';
import type {
  NativeBinding,
  NativeConnection as RawConnection,
  NativeListener as RawListener,
} from './binding.js';
import { checkOutgoing } from './framer.js';
import type { Connection, ConnectionHandler, Listener, Pdu, Portal, Transport } from './types.js';

const META_SOURCE = 0;
const META_BHS_OFFSET = 1;
const META_AHS_LENGTH = 2;
const META_DATA_OFFSET = 3;
const META_DATA_LENGTH = 4;
const META_FLAGS = 5;
const FLAG_DATA_DIGEST_ERROR = 1;
const BHS_LENGTH = 48;

let binding: NativeBinding | null = null;
let loadError: unknown = null;

/** Loads build/Release/vtl_native.node once; throws ERR_NATIVE_UNAVAILABLE with the fix. */
export function loadNative(): NativeBinding {
  if (binding) return binding;
  if (loadError === null) {
    try {
      const require = createRequire(import.meta.url);
      const bindings = require('bindings') as (name: string) => unknown;
      binding = bindings('vtl_native') as NativeBinding;
      return binding;
    } catch (err) {
      loadError = err;
    }
  }
  throw new VtlError(
    'ERR_NATIVE_UNAVAILABLE',
    `the native socket layer (build/Release/vtl_native.node) could not be loaded: ` +
      `${(loadError as Error).message}. Run "npm run build:native" (needs cmake and a C++17 ` +
      `compiler), or use the pure Node transport with createTransport('net').`,
    { cause: loadError },
  );
}

export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

let nextConnectionId = 1;

class NativeConnection implements Connection {
  readonly id = nextConnectionId++;
  private handler: ConnectionHandler | null = null;
  private readonly meta: Uint32Array;
  private readonly fields: number;

  constructor(
    private readonly raw: RawConnection,
    fields: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
  ) {
    this.meta = raw.meta();
    this.fields = fields;
    raw.setCallbacks({
      onPdus: (count, block, larges) => this.onPdus(count, block, larges),
      onError: (code, message) => this.handler?.onError(new VtlError(code, message)),
      onClose: () => this.handler?.onClose(),
      onDrain: () => this.handler?.onDrain(),
    });
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  setDigests(header: boolean, data: boolean): void {
    this.raw.setDigests(header, data);
  }

  setMaxRecvDataSegmentLength(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 512 || bytes > 0xffffff) {
      throw new VtlError(
        'ERR_INVALID_ARGUMENT',
        `MaxRecvDataSegmentLength must be an integer from 512 to 16777215, got ${bytes}`,
      );
    }
    this.raw.setMaxRecvDataSegmentLength(bytes);
  }

  send(header: Buffer, data?: Buffer | null): boolean {
    checkOutgoing(header, data);
    return this.raw.send(header, data ?? null);
  }

  releaseData(data: Buffer): void {
    this.raw.recycle(data);
  }

  get writableLength(): number {
    return this.raw.writableLength();
  }

  pause(): void {
    this.raw.pause();
  }

  resume(): void {
    this.raw.resume();
  }

  end(): void {
    this.raw.end();
  }

  destroy(): void {
    this.raw.destroy();
  }

  private onPdus(count: number, block: Buffer | undefined, larges: Buffer[] | undefined): void {
    const handler = this.handler;
    if (handler === null) {
      // The owner broke the contract (setHandler inside onConnection): nobody to deliver to.
      this.raw.destroy();
      return;
    }
    const meta = this.meta;
    const batch: Pdu[] = new Array<Pdu>(count);
    for (let i = 0, m = 0; i < count; i++, m += this.fields) {
      const source = meta[m + META_SOURCE];
      const buf = source === 0 ? block! : larges![source - 1];
      const bhsOffset = meta[m + META_BHS_OFFSET];
      const ahsLength = meta[m + META_AHS_LENGTH];
      const dataLength = meta[m + META_DATA_LENGTH];
      const dataOffset = meta[m + META_DATA_OFFSET];
      batch[i] = {
        bhs: buf.subarray(bhsOffset, bhsOffset + BHS_LENGTH),
        ahs: ahsLength > 0 ? buf.subarray(bhsOffset + BHS_LENGTH, bhsOffset + BHS_LENGTH + ahsLength) : null,
        data: dataLength > 0 ? buf.subarray(dataOffset, dataOffset + dataLength) : null,
        dataDigestError: (meta[m + META_FLAGS] & FLAG_DATA_DIGEST_ERROR) !== 0,
      };
    }
    handler.onPdus(batch);
  }
}

class NativeListener implements Listener {
  private closing: Promise<void> | null = null;

  constructor(
    private readonly raw: RawListener,
    readonly host: string,
    readonly port: number,
  ) {}

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.raw.close(resolve));
    return this.closing;
  }
}

class NativeTransport implements Transport {
  readonly name = 'native' as const;

  constructor(private readonly native: NativeBinding) {}

  listen(portal: Portal, onConnection: (conn: Connection) => void): Promise<Listener> {
    const host = portal.host === 'localhost' ? '127.0.0.1' : portal.host;
    if (isIP(host) === 0) {
      return Promise.reject(
        new VtlError(
          'ERR_INVALID_ARGUMENT',
          `the native transport listens on IPv4 or IPv6 literals only, got "${portal.host}"`,
        ),
      );
    }
    const fields = this.native.META_FIELDS;
    let raw: RawListener;
    try {
      raw = new this.native.Listener(host, portal.port, (conn, ra, rp, la, lp) =>
        onConnection(new NativeConnection(conn, fields, ra, rp, la, lp)),
      );
    } catch (err) {
      return Promise.reject(
        new VtlError('ERR_TRANSPORT', `cannot listen on ${host}:${portal.port}: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
    return Promise.resolve(new NativeListener(raw, host, raw.port()));
  }
}

export function createNativeTransport(): Transport {
  return new NativeTransport(loadNative());
}

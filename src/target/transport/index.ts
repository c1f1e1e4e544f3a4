/**
 * Transport selection. The native transport is the default where the addon is built; the
 * `node:net` one is the fallback and the cross-check (both pass one contract suite).
 */
import { VtlError } from '../../util/errors.js';
import { createNativeTransport, nativeAvailable } from './native.js';
import { createNetTransport } from './net.js';
import type { Transport } from './types.js';

export type TransportKind = 'native' | 'net';

export function createTransport(kind: TransportKind = 'native'): Transport {
  switch (kind) {
    case 'native':
      return createNativeTransport();
    case 'net':
      return createNetTransport();
    default:
      throw new VtlError(
        'ERR_INVALID_ARGUMENT',
        `unknown transport "${String(kind)}": expected "native" or "net"`,
      );
  }
}

export { createNativeTransport, createNetTransport, nativeAvailable };
export { PduFramer, encodePdu } from './framer.js';
export { crc32c } from './crc32c.js';
export type * from './types.js';

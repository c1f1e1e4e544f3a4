/**
 * Library misuse and operational failures surface as VtlError with a stable code, so embedding
 * products can branch on `err.code` rather than on message text (the undici habit).
 */
export type VtlErrorCode =
  | 'ERR_CONFIG' // a configuration file or object is invalid
  | 'ERR_INVALID_ARGUMENT' // an API was called with a bad argument
  | 'ERR_NATIVE_UNAVAILABLE' // the native addon could not be loaded
  | 'ERR_TRANSPORT' // a socket-level failure
  | 'ERR_PROTOCOL' // an iSCSI protocol violation by the peer
  | 'ERR_IMAGE' // a tape image is damaged or cannot be opened
  | 'ERR_IMAGE_NOT_FOUND' // no cartridge with that label
  | 'ERR_IMAGE_EXISTS' // a cartridge with that label exists already
  | 'ERR_LABEL' // a cartridge label is not acceptable
  | 'ERR_STATE' // the object is closed or in the wrong state
  | 'ERR_NOT_FOUND'; // no such named object (a library, a job)

export class VtlError extends Error {
  readonly code: VtlErrorCode;

  constructor(code: VtlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VtlError';
    this.code = code;
  }
}

export { VtlError } from './util/errors.js';
export type { VtlErrorCode } from './util/errors.js';
export { createLogger, silentLogger } from './util/log.js';
export type { Logger, LogLevel } from './util/log.js';
export { SENSE, SenseKey, SenseError, encodeSense, decodeSense } from './target/scsi/sense.js';
export type * from './target/scsi/types.js';
export type * from './target/transport/types.js';
export type * from './vtl/image/types.js';

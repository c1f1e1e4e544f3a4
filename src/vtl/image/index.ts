/** The tape image: cartridges as chunked record files, with a file and a memory backend. */
export type * from './types.js';
export { createFileBackend } from './file-backend.js';
export { createMemoryBackend } from './memory-backend.js';
export {
  createCartridge,
  openTapeImage,
  parseMeta,
  setWriteProtected,
  defaultEarlyWarning,
  NATIVE_CAPACITY,
  MEDIA_TYPES,
  DEFAULT_CHUNK_SIZE,
  type CreateCartridgeOptions,
} from './cartridge.js';
export {
  ChunkedTapeImage,
  FILEMARK_CAPACITY_COST,
  TRIM_THRESHOLD,
  DEFAULT_READ_AHEAD,
  DEFAULT_WRITE_BEHIND,
  partitionSizes,
  type TapeImageOptions,
} from './tape-image.js';
export {
  validateLabel,
  isValidLabel,
  chunkFileName,
  indexFileName,
  filemarkFileName,
  partitionFiles,
  MAX_PARTITIONS,
  LABEL_MAX_LENGTH,
  type PartitionFiles,
} from './label.js';
export { MAX_BLOCK_LENGTH, RecordFlag, KNOWN_RECORD_FLAGS } from './record.js';

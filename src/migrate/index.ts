/** Cloud migration: export cartridges to an rclone remote or a directory, and import them back. */
export {
  migrationConfigSchema,
  parseMigrationConfig,
  parseQuadstorRcloneConf,
  parseChunkSize,
  splitFlags,
  MIN_EXPORT_CHUNK,
  type MigrationConfig,
  type MigrationConfigInput,
} from './config.js';
export {
  DirectoryRemote,
  MigrationError,
  joinRemote,
  EXIT,
  type MigrationErrorCode,
  type Remote,
  type RemoteEntry,
  type RemoteHash,
  type TransferOptions,
} from './remote.js';
export { RcloneRemote, type RcloneOptions, type RcloneResult } from './rclone.js';
export {
  decodeHeader,
  encodeHeader,
  loadEncryptionKey,
  plainLimit,
  CHUNK_MAGIC,
  CHUNK_VERSION,
  HEADER_LENGTH,
  type ChunkHeader,
  type EncryptionKey,
} from './format.js';
export {
  manifestSchema,
  manifestName,
  exportChunkName,
  exportDirName,
  parseManifest,
  type Manifest,
} from './manifest.js';
export type { JobRecord, JobState, JobKind, ChunkRecord, FileEntry } from './job-store.js';
export type { ImportOptions, RenamingBackend } from './import-job.js';
export { runPostVaultCmd, type HookResult } from './hook.js';
export { progressBar, formatJobShort, formatJobLong, formatBytes } from './progress.js';
export {
  Migrator,
  createRemote,
  type LibraryHooks,
  type MigratorOptions,
  type MigratorEvents,
} from './migrator.js';

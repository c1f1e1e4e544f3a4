/**
 * The tape image (DESIGN.md "The tape image"): a cartridge is a directory named by its barcode
 * holding `cartridge.json`, data chunk files `<LABEL>.img.000001`, … of at most `chunkSize`
 * bytes (whole records laid end to end, each with a header and a CRC32C), and an index that
 * gives any logical object's place in O(1) so LOCATE, SPACE and READ POSITION never scan.
 *
 * Backends store named files (chunks, index, metadata) for one cartridge each; `TapeImage`
 * implements tape semantics over any backend.
 */

/** Media types a cartridge can be (LTO generations, WORM, cleaning). */
export type MediaType =
  | 'LTO5'
  | 'LTO6'
  | 'LTO7'
  | 'LTO8'
  | 'LTO9'
  | 'LTO5-WORM'
  | 'LTO6-WORM'
  | 'LTO7-WORM'
  | 'LTO8-WORM'
  | 'LTO9-WORM'
  | 'CLEANING';

/** The contents of `cartridge.json`. Versioned; unknown versions are refused with ERR_IMAGE. */
export interface CartridgeMeta {
  readonly formatVersion: 1;
  readonly label: string;
  readonly mediaType: MediaType;
  /** Native capacity in bytes (what the cartridge holds before VOLUME OVERFLOW). */
  readonly capacity: number;
  /** Bytes before the end of partition at which early warning (EOM, 00/02) starts. */
  readonly earlyWarning: number;
  /** Largest chunk file in bytes. */
  readonly chunkSize: number;
  readonly createdAt: string;
  writeProtected: boolean;
  counters: {
    loads: number;
    bytesWritten: number;
    bytesRead: number;
    /** Full passes over the medium (SSC volume statistics 0101h). */
    passes: number;
  };
  /** MAM attributes by id (hex string of the 16-bit id) → value as hex; filled by a later issue. */
  attributes: Record<string, string>;
  /**
   * Partition layout (FORMAT MEDIUM): the capacity in bytes of each partition, 2..4 entries.
   * Absent when the cartridge has one partition of `capacity` bytes (every cartridge made
   * before partitions existed), which keeps formatVersion 1: the field is optional and a
   * reader that ignores it still sees partition 0, stored under the same file names.
   */
  partitions?: number[];
}

/** Where the head is, in SSC terms (SSC-4 4.2.4, 7.7.3 READ POSITION long form). */
export interface TapePosition {
  readonly partition: number;
  /** Logical object number: blocks and filemarks from BOP; equals `objectCount` at EOD. */
  readonly objectNumber: number;
  /** Logical file identifier: filemarks between BOP and the position. */
  readonly fileNumber: number;
  /** At beginning of partition (objectNumber 0). */
  readonly bop: boolean;
  /** At end of data (nothing recorded from here on). */
  readonly eod: boolean;
  /** Past the early-warning point (EOP bit / BPEW in READ POSITION). */
  readonly beyondEarlyWarning: boolean;
}

/** How a data block is recorded (record header flags and key id, record.ts). */
export interface WriteOptions {
  /** RecordFlag bits (compressed, encrypted); default 0. */
  readonly flags?: number;
  /** Key identifier of an encrypted block (u32, a key fingerprint, never key bytes); default 0. */
  readonly keyId?: number;
}

export interface ReadOptions {
  /** The caller is done with the data before its next call on the image (see `read`). */
  readonly transient?: boolean;
}

/** What the head finds when reading forward. */
export type ReadResult =
  | {
      readonly kind: 'data';
      /** The payload as recorded (compressed/encrypted when `flags` says so). */
      readonly data: Buffer;
      /** Record flags (RecordFlag); present only when non-zero, absent means 0. */
      readonly flags?: number;
      /** Key id of the record; present only when `flags` is. */
      readonly keyId?: number;
    }
  | { readonly kind: 'filemark' }
  | { readonly kind: 'eod' };

/**
 * Outcome of SPACE/LOCATE. `moved` is the number of objects (blocks or filemarks, as asked)
 * actually passed; `stop` tells why it stopped short (`null` when it did not).
 */
export interface SpaceResult {
  readonly moved: number;
  readonly stop: null | 'filemark' | 'eod' | 'bop';
}

/** Storage for one cartridge's files. All names are plain file names, never paths. */
export interface ImageBackend {
  /** Opens (creating with `create`) the cartridge store named `label`. */
  open(label: string, options: { create: boolean }): Promise<CartridgeStore>;
  /** Labels of the cartridges this backend holds. */
  list(): Promise<string[]>;
  /** Deletes a cartridge and all its files. */
  remove(label: string): Promise<void>;
  /** True when a cartridge with this label exists. */
  exists(label: string): Promise<boolean>;
  /**
   * Optional: gives cartridge `from` the label `to` in one step, without copying its files
   * (an import builds a cartridge under a temporary label and places it so: no second write,
   * no moment where both exist). Throws ERR_IMAGE_NOT_FOUND when `from` does not exist and
   * ERR_IMAGE_EXISTS when `to` does (never replaces a cartridge); durable when it resolves.
   * Stores open on `from` must be closed first. Without it callers copy the files.
   */
  rename?(from: string, to: string): Promise<void>;
}

/** The files of one cartridge. Offsets are byte offsets within one file. */
export interface CartridgeStore {
  readonly label: string;
  /** File names present (chunks, index, cartridge.json). */
  files(): Promise<string[]>;
  /** Size of a file in bytes, or -1 when it does not exist. */
  size(name: string): Promise<number>;
  /** Reads up to `length` bytes at `offset` (fewer at end of file). */
  read(name: string, offset: number, length: number): Promise<Buffer>;
  /**
   * Optional: reads up to `target.length` bytes at `offset` into `target` and resolves with
   * how many were read (fewer at end of file). Lets read-ahead reuse its window buffers.
   */
  readInto?(name: string, offset: number, target: Buffer): Promise<number>;
  /** Appends bytes at the end of a file, creating it when absent. */
  append(name: string, data: Buffer | readonly Buffer[]): Promise<void>;
  /**
   * Optional: writes bytes at `offset` of a file (creating it when absent), over what is there
   * and extending the file when the write ends past its end. Lets the image overwrite chunk
   * files in place instead of cutting and regrowing them; without it the image truncates.
   */
  write?(name: string, offset: number, data: Buffer | readonly Buffer[]): Promise<void>;
  /** Cuts a file to `length` bytes. */
  truncate(name: string, length: number): Promise<void>;
  /** Replaces a whole small file atomically (write to a temporary name, sync, rename). */
  writeAtomic(name: string, data: Buffer): Promise<void>;
  /** Deletes one file (no error when absent). */
  unlink(name: string): Promise<void>;
  /**
   * Makes everything written so far durable (fsync files and directory). `also` names files to
   * make durable even if this store did not write them (records a crashed process left in the
   * page cache, found on open).
   */
  sync(also?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Tape semantics over one cartridge of 1..4 partitions (SSC-4 4.2.3), each with its own
 * records, filemarks, EOD and capacity. The drive owns exactly one open TapeImage while a
 * cartridge is loaded. Writes are buffered (a drive in buffered mode); `sync` makes them
 * durable. Writing anywhere but at EOD discards what follows in that partition.
 * Object counts, capacity figures, SPACE and READ act on the current partition.
 */
export interface TapeImage {
  readonly label: string;
  readonly meta: CartridgeMeta;
  position(): TapePosition;
  /** Logical objects (blocks + filemarks) recorded, i.e. the object number of EOD. */
  readonly objectCount: number;
  /** Bytes of payload recorded up to EOD (for capacity and early warning). */
  readonly bytesUsed: number;
  /** Bytes that may still be written before VOLUME OVERFLOW. */
  readonly remaining: number;
  /** Partitions the cartridge is formatted into (1 unless formatted otherwise). */
  readonly partitionCount: number;
  /** Capacity in bytes of each partition, in partition order. */
  partitionCapacities(): number[];
  /** Bytes recorded up to EOD in each partition (`bytesUsed` of each), in partition order. */
  partitionBytesUsed(): number[];
  /**
   * FORMAT MEDIUM (SSC-4 FORMAT MEDIUM and 4.2.3 partitions): lays out `partitionSizes` (bytes per partition, 1..4
   * entries, summing to at most the native capacity) or one partition of the whole capacity
   * (null). Destroys every record in every partition; the head ends at BOP of partition 0.
   * Throws ERR_STATE on write-protected, WORM and cleaning cartridges, ERR_INVALID_ARGUMENT on
   * a layout that does not fit.
   */
  format(partitionSizes: number[] | null): Promise<void>;

  /** REWIND: to BOP of partition 0 (SSC-4 REWIND; IBM LTO: "logical position set to BOM"). */
  rewind(): Promise<void>;
  /**
   * LOCATE to a logical object number, in `partition` when given (SSC-4 LOCATE with CP=1: changes
   * the current partition; ERR_INVALID_ARGUMENT when it does not exist); beyond EOD it stops
   * at EOD with stop='eod'.
   */
  locate(objectNumber: number, partition?: number): Promise<SpaceResult>;
  /** LOCATE to the BOP side of file `fileNumber` (just after filemark fileNumber-1), IBM semantics. */
  locateFile(fileNumber: number): Promise<SpaceResult>;

  /**
   * Reads the object at the head and moves past it (not at EOD: the head stays). With
   * `transient`, the data may be a view of memory the image reuses for later reads: it is
   * valid until the next call on this image (the SSC READ handler has sent it by then).
   */
  read(options?: ReadOptions): Promise<ReadResult>;
  /**
   * SPACE over blocks (SSC-4 7.8): count > 0 forward, < 0 backward. Forward stops after a
   * filemark (EOM side) with stop='filemark'; backward stops before it (BOP side).
   */
  spaceBlocks(count: number): Promise<SpaceResult>;
  /** SPACE over filemarks; forward ends after the n-th filemark, backward before it (BOP side). */
  spaceFilemarks(count: number): Promise<SpaceResult>;
  /** SPACE to end of data. */
  spaceToEod(): Promise<void>;

  /**
   * Writes one data block at the head (truncating anything after it). Throws VtlError
   * ERR_STATE when write-protected; the drive checks capacity via `remaining` first. `options`
   * records the block's flags and key id (compressed/encrypted payloads); capacity and
   * counters account `data.length`, i.e. the bytes stored.
   */
  writeBlock(data: Buffer, options?: WriteOptions): Promise<void>;
  writeFilemarks(count: number): Promise<void>;
  /** ERASE: makes the head position EOD (short erase) — everything after it is gone. */
  erase(): Promise<void>;
  /** Makes every write so far durable (WRITE FILEMARKS IMMED=0, sync, unload, rewind). */
  sync(): Promise<void>;
  /** Persists counters/attributes in cartridge.json. */
  saveMeta(): Promise<void>;
  /** Syncs and releases the store. */
  close(): Promise<void>;
}

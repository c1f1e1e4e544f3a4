/**
 * One SSC tape drive: which cartridge it holds and the drive settings MODE SELECT changes. The
 * command handlers (one file per command family in this folder) read and change this state; the
 * server and, later, a changer insert and remove cartridges through `load` and `unload`.
 *
 * Cartridge states:
 *   empty     no cartridge: medium-access commands answer NOT READY 3A/00
 *   loaded    threaded, ready (TEST UNIT READY is GOOD)
 *   unloaded  LOAD UNLOAD LOAD=0 ran: the cartridge still sits in the drive but is not ready
 *             (3A/00 as after an eject); LOAD UNLOAD LOAD=1 threads it again, a changer may
 *             take it away with `unload`.
 */
import { VtlError } from '../../util/errors.js';
import { silentLogger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { Nexus, SpcServices } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import { SSC_SENSE } from './sense-codes.js';
import { findDriveModel, mediaAccess, mediaDensity, mediaGeneration, mediumTypeCode } from './models.js';
import type { DriveModel } from './models.js';
import { DriveHealth, TapeAlertFlag } from './tape-alert.js';
import type { HealthOptions } from './tape-alert.js';
import { recordLoad, noteVolumeChange, OPTIMIZED_KEY, INITIALIZATION_COUNT } from './mam-store.js';
import { DataPath } from './data-path.js';
import type { PartitionPlan } from './partitions.js';

/** READ BLOCK LIMITS maximum by default: 8 MiB, what PBS transfers at most (clients.md 1a). */
export const DEFAULT_MAX_BLOCK_LENGTH = 0x800000;
/** The BLOCK LENGTH field of the block descriptor is three bytes. */
export const MAX_FIXED_BLOCK_LENGTH = 0xffffff;

export interface TapeDriveOptions extends HealthOptions {
  /** Personality key, e.g. 'IBM ULT3580-TD8' (models.ts). */
  model?: string;
  /** Largest block READ BLOCK LIMITS reports and WRITE accepts (1..16 MiB-1). */
  maxBlockLength?: number;
  /**
   * LTO-9 and later: how long the media optimization of a new cartridge's first load takes, in
   * milliseconds (a real drive: 40-120 minutes). Default 2000.
   */
  mediaOptimizationMs?: number;
  logger?: Logger;
}

/** Default media optimization time: short, so PBS's TUR poll (1 s interval) sees it and moves on. */
export const DEFAULT_MEDIA_OPTIMIZATION_MS = 2000;

/** What the drive counted while the current cartridge was threaded (MAM 0222h/0223h, log 17h 000Eh/000Fh). */
export interface LoadCounters {
  bytesWrittenAtLoad: number;
  bytesReadAtLoad: number;
  /** Volume change reference already advanced during this load (SPC-4 MAM 0009h). */
  changed: boolean;
}

export type CartridgeState = 'empty' | 'loaded' | 'unloaded';

/** Host-side transfer counters for the sequential-access log page (0Ch). */
export interface DriveCounters {
  bytesWritten: number;
  bytesRead: number;
}

export class TapeDrive {
  readonly model: DriveModel;
  readonly maxBlockLength: number;
  readonly logger: Logger;

  /** Block descriptor BLOCK LENGTH: 0 = variable-block mode, else the fixed block size. */
  blockLength = 0;
  /** Data compression page DCE (and device configuration SELECT DATA COMPRESSION ALGORITHM). */
  compression = true;
  /** Mode header BUFFERED MODE (SSC-4 mode parameters): 0 unbuffered, 1 buffered, 2 buffered/shared. */
  bufferedMode = 1;
  /** Device configuration WRITE DELAY TIME in 100 ms units. */
  writeDelayTime = 0;
  /** Programmable early warning size in MB (page 10h/01h, pew.ts); 0 = none. */
  pews = 0;
  /** 00/07 was reported for the current stay in the programmable early-warning zone. */
  pewReported = false;
  /** Medium partition page layout selected for the next FORMAT MEDIUM (partitions.ts). */
  partitionPlan: PartitionPlan | null = null;
  readonly counters: DriveCounters = { bytesWritten: 0, bytesRead: 0 };
  /** Cleaning state, media wear and TapeAlert flags (tape-alert.ts). */
  readonly health: DriveHealth;
  /** TapeAlert event flags (1..64) raised since the page was last read (TapeAlert log page). */
  readonly tapeAlerts: Set<number>;
  readonly mediaOptimizationMs: number;
  /** Unit serial number (VPD 80h), set by createTapeDrive; MAM load history records it. */
  serial = '';
  /** Lifetime volume loads of this drive (device statistics 0000h). */
  loadsInLife = 0;
  /** Loads since the device statistics were last reset (device statistics 000Dh). */
  loadsSinceReset = 0;
  /** Compression, encryption and logical block protection of blocks (data-path.ts). */
  readonly dataPath = new DataPath();
  /** Per-load counters of the threaded cartridge. */
  loadCounters: LoadCounters = { bytesWrittenAtLoad: 0, bytesReadAtLoad: 0, changed: false };

  private cartridge: TapeImage | null = null;
  private threaded = false;
  /** I_T nexuses holding PREVENT ALLOW MEDIUM REMOVAL with PREVENT=1 (SPC-4 PREVENT ALLOW MEDIUM REMOVAL). */
  private readonly preventers = new Set<string>();
  private services: SpcServices | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** Media optimization running: when it ends (health.now() time) and its timer. */
  private optimization: { until: number; timer: NodeJS.Timeout } | null = null;

  constructor(options: TapeDriveOptions = {}) {
    this.model = findDriveModel(options.model);
    const max = options.maxBlockLength ?? DEFAULT_MAX_BLOCK_LENGTH;
    if (!Number.isInteger(max) || max < 1 || max > MAX_FIXED_BLOCK_LENGTH) {
      throw new VtlError(
        'ERR_INVALID_ARGUMENT',
        `maxBlockLength must be 1..${MAX_FIXED_BLOCK_LENGTH}, got ${max}`,
      );
    }
    this.maxBlockLength = max;
    const opt = options.mediaOptimizationMs ?? DEFAULT_MEDIA_OPTIMIZATION_MS;
    if (!Number.isInteger(opt) || opt < 0)
      throw new VtlError('ERR_INVALID_ARGUMENT', `mediaOptimizationMs must be an integer >= 0, got ${opt}`);
    this.mediaOptimizationMs = opt;
    this.health = new DriveHealth(options);
    this.tapeAlerts = this.health.events;
    this.logger = (options.logger ?? silentLogger).child({ component: 'ssc', model: this.model.key });
  }

  /** Connects the drive to the logical unit serving it (unit attentions on load). */
  attach(services: SpcServices): void {
    this.services = services;
  }

  get state(): CartridgeState {
    if (!this.cartridge) return 'empty';
    return this.threaded ? 'loaded' : 'unloaded';
  }

  /** The cartridge in the drive (loaded or not), e.g. for a changer's element status. */
  get cartridgeInDrive(): TapeImage | null {
    return this.cartridge;
  }

  /** The threaded cartridge, or null when the drive is not ready. */
  get image(): TapeImage | null {
    return this.threaded ? this.cartridge : null;
  }

  /** True while any I_T nexus prevents medium removal: a changer MOVE must fail with 53/02. */
  get removalPrevented(): boolean {
    return this.preventers.size > 0;
  }

  /**
   * Write-protected as the mode header WP bit reports it: the cartridge's tab, or a generation
   * the drive only reads.
   */
  get writeProtected(): boolean {
    const image = this.image;
    if (!image) return false;
    return image.meta.writeProtected || mediaAccess(this.model, image.meta.mediaType) !== 'read-write';
  }

  /** Block descriptor DENSITY CODE: the loaded cartridge's format, 00h without one. */
  get densityCode(): number {
    const image = this.image;
    return image ? (mediaDensity(image.meta.mediaType)?.code ?? 0) : 0;
  }

  /** Mode header MEDIUM TYPE. */
  get mediumType(): number {
    const image = this.image;
    return image ? mediumTypeCode(this.model, image.meta.mediaType) : 0;
  }

  /**
   * Runs `fn` with no other drive operation in between: commands and load/unload from a
   * changer never interleave at an await.
   */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(noop, noop);
    return run;
  }

  /**
   * The threaded cartridge for a medium-access command, or the NOT READY condition a real
   * drive reports (clients.md 4): 3A/00 without one, 30/03 for a cleaning
   * cartridge, 30/00 for a generation this drive cannot read.
   */
  requireImage(): TapeImage {
    const image = this.image;
    if (!image) throw new SenseError(SENSE.MEDIUM_NOT_PRESENT);
    const media = image.meta.mediaType;
    if (media === 'CLEANING') throw new SenseError(SENSE.CLEANING_CARTRIDGE_INSTALLED);
    if (mediaAccess(this.model, media) === 'incompatible')
      throw new SenseError(SENSE.INCOMPATIBLE_MEDIUM_INSTALLED);
    // Media optimization (LTO-9+ first load): NOT READY 04/01 with the progress indication, which
    // TEST UNIT READY polls until it ends (PBS waits up to 2 hours, clients.md 1a).
    if (this.optimization)
      throw new SenseError(SENSE.BECOMING_READY, { progress: this.optimizationProgress() });
    return image;
  }

  /**
   * Medium access for commands that change the medium: DATA PROTECT 27/00 when the cartridge is
   * write-protected, 30/05 when its generation is one this drive only reads.
   */
  requireWritableImage(): TapeImage {
    const image = this.requireImage();
    if (image.meta.writeProtected) {
      // TapeAlert flag 09h: "write protect" — a write was attempted on a protected cartridge.
      this.tapeAlerts.add(TapeAlertFlag.WRITE_PROTECT);
      throw new SenseError(SENSE.WRITE_PROTECTED);
    }
    if (this.writeProtected) throw new SenseError(SSC_SENSE.CANNOT_WRITE_MEDIUM_INCOMPATIBLE_FORMAT);
    return image;
  }

  /** True while a media optimization runs (DT device status activity 0Bh, calibrating). */
  get optimizing(): boolean {
    return this.optimization !== null;
  }

  /** Progress indication of SPC-4 4.5.2.4.4: fraction done times 65536. */
  private optimizationProgress(): number {
    const o = this.optimization!;
    const left = Math.max(0, o.until - this.health.now());
    return Math.min(0xffff, Math.floor((1 - left / Math.max(1, this.mediaOptimizationMs)) * 0x10000));
  }

  /**
   * LTO-9 and later calibrate a cartridge the first time it is loaded and after FORMAT MEDIUM
   * (PBS docs: media optimization). The state lives in the cartridge's metadata, so it happens
   * once per cartridge; an unload while it runs leaves the cartridge unoptimized.
   */
  startOptimization(image: TapeImage, force = false): void {
    const g = mediaGeneration(image.meta.mediaType);
    if (!this.model.mediaOptimization || !g || g.generation < 9) return;
    if (!force && (image.meta.attributes[OPTIMIZED_KEY] === '1' || image.objectCount > 0)) return;
    this.cancelOptimization();
    delete image.meta.attributes[OPTIMIZED_KEY];
    const finish = (): void => {
      this.optimization = null;
      image.meta.attributes[OPTIMIZED_KEY] = '1';
      this.logger.info('media optimization done', { label: image.label });
      void this.exclusive(() => image.saveMeta()).catch((err: unknown) =>
        this.logger.error('saving cartridge metadata failed', { label: image.label, err }),
      );
    };
    if (this.mediaOptimizationMs === 0) {
      image.meta.attributes[OPTIMIZED_KEY] = '1';
      return;
    }
    const timer = setTimeout(finish, this.mediaOptimizationMs);
    timer.unref();
    this.optimization = { until: this.health.now() + this.mediaOptimizationMs, timer };
    this.logger.info('media optimization started', { label: image.label, ms: this.mediaOptimizationMs });
  }

  private cancelOptimization(): void {
    if (this.optimization) clearTimeout(this.optimization.timer);
    this.optimization = null;
  }

  /** Fault injection (management API): raises TapeAlert flag 1..64 until the page is read. */
  injectTapeAlert(flag: number): void {
    this.health.inject(flag);
  }

  /**
   * A cleaning cartridge went through the drive; the library counts its uses and says whether it
   * was expired (TapeAlert 16h) or cleaned the drive (cleaning-required flags end).
   */
  clean(options: { expired?: boolean } = {}): void {
    this.health.clean(options.expired === true);
  }

  /** Every TapeAlert flag now set, flag 1 in the most significant bit (log 12h, MAM 0002h). */
  tapeAlertMask(): bigint {
    return this.health.mask(this.image?.meta ?? this.cartridge?.meta ?? null);
  }

  /** FORMAT MEDIUM done: one more initialization (MAM 0007h), optimization again on LTO-9+. */
  noteFormatted(image: TapeImage): void {
    const a = image.meta.attributes;
    a[INITIALIZATION_COUNT] = Math.min(0xffff, parseInt(a[INITIALIZATION_COUNT] ?? '0000', 16) + 1)
      .toString(16)
      .padStart(4, '0');
    this.loadCounters.changed = false;
    noteVolumeChange(image, this.loadCounters);
    this.startOptimization(image, true);
  }

  /** The head passed over the whole medium and back (log 17h 0101h BOM passes). */
  notePass(image: TapeImage): void {
    if (!image.position().bop) image.meta.counters.passes += 1;
  }

  /** Bytes moved between host and medium, for the cleaning interval. */
  noteTransfer(bytes: number): void {
    this.health.bytesSinceCleaning += bytes;
  }

  // ---- cartridge handling (server, changer) ---------------------------------------------------

  /**
   * Inserts and threads a cartridge (positioned at BOP). Every I_T nexus gets NOT READY TO READY
   * CHANGE (28/00) so initiators notice the new medium (clients.md 4).
   */
  load(image: TapeImage): Promise<void> {
    return this.exclusive(async () => {
      if (this.cartridge) {
        throw new VtlError(
          'ERR_STATE',
          `drive already holds cartridge ${this.cartridge.label}; unload it first`,
        );
      }
      await image.rewind();
      this.cartridge = image;
      this.onThread(image);
      this.logger.info('cartridge loaded', { label: image.label });
      this.services?.raiseUnitAttention(SENSE.NOT_READY_TO_READY_CHANGE);
    });
  }

  /**
   * Takes the cartridge out (synced, rewound) and hands it to the caller, who closes or moves
   * it. Refused while an initiator prevents removal, unless `force` (server shutdown).
   */
  unload(options: { force?: boolean } = {}): Promise<TapeImage | null> {
    return this.exclusive(async () => {
      const image = this.cartridge;
      if (!image) return null;
      if (this.removalPrevented && !options.force) {
        throw new VtlError('ERR_STATE', `medium removal is prevented on the drive holding ${image.label}`);
      }
      if (this.threaded) await this.unthreadNow();
      this.cancelOptimization();
      this.cartridge = null;
      this.preventers.clear();
      this.logger.info('cartridge removed', { label: image.label });
      return image;
    });
  }

  /** Flushes and closes the cartridge (server shutdown). */
  close(): Promise<void> {
    return this.exclusive(async () => {
      const image = this.cartridge;
      this.cartridge = null;
      this.cancelOptimization();
      if (this.threaded) this.health.threaded(false);
      this.threaded = false;
      this.preventers.clear();
      this.dataPath.demounted();
      if (!image) return;
      // close() syncs data; the counters the drive keeps (loads) live in cartridge.json.
      await image.saveMeta();
      await image.close();
    });
  }

  // ---- used by the LOAD UNLOAD handler (already inside `exclusive`) -----------------------------

  /** LOAD UNLOAD LOAD=0: sync, rewind, unthread; the cartridge stays in the drive. */
  async unthreadNow(): Promise<void> {
    const image = this.cartridge;
    if (!image || !this.threaded) return;
    await image.sync();
    this.notePass(image);
    await image.rewind();
    this.cancelOptimization();
    await image.saveMeta();
    this.threaded = false;
    this.health.threaded(false);
    // SSC-4 4.2.24: parameters set with CKOD=1 are released when the volume is demounted.
    this.dataPath.demounted();
  }

  /** LOAD UNLOAD LOAD=1 on an unthreaded cartridge: thread it again at BOP. */
  async threadNow(): Promise<void> {
    const image = this.cartridge;
    if (!image) throw new SenseError(SENSE.MEDIUM_NOT_PRESENT);
    await image.rewind();
    if (!this.threaded) this.onThread(image);
  }

  /**
   * A cartridge is threaded: load counters (MAM 0003h, log 17h 0001h), the load history
   * (MAM 020Ah-020Dh), per-load byte counters, and media optimization on LTO-9+.
   */
  private onThread(image: TapeImage): void {
    this.threaded = true;
    image.meta.counters.loads += 1;
    this.loadsInLife += 1;
    this.loadsSinceReset += 1;
    this.health.threaded(true);
    this.loadCounters = {
      bytesWrittenAtLoad: image.meta.counters.bytesWritten,
      bytesReadAtLoad: image.meta.counters.bytesRead,
      changed: false,
    };
    if (image.meta.mediaType === 'CLEANING') return;
    recordLoad(image.meta, this.model.vendor, this.serial);
    if (mediaAccess(this.model, image.meta.mediaType) !== 'incompatible') this.startOptimization(image);
  }

  /**
   * LOGICAL UNIT RESET / TARGET RESET (SAM-5): mode parameters go back to their defaults, as
   * nothing is saved; the position is kept (REWIND ON RESET is 0 in page 10h).
   */
  resetModeParameters(): void {
    this.blockLength = 0;
    this.compression = true;
    this.bufferedMode = 1;
    this.writeDelayTime = 0;
    this.pews = 0;
    this.pewReported = false;
    this.partitionPlan = null;
  }

  // ---- PREVENT ALLOW MEDIUM REMOVAL -------------------------------------------------------------

  /**
   * SPC-4 PREVENT ALLOW MEDIUM REMOVAL: removal stays prevented until every I_T nexus that
   * prevented it allows it.
   */
  setPrevent(nexus: Nexus, prevent: boolean): void {
    if (prevent) this.preventers.add(nexus.key);
    else this.preventers.delete(nexus.key);
  }

  /** I_T nexus loss drops that nexus's prevention; a reset drops all (SPC-4 PREVENT ALLOW MEDIUM REMOVAL). */
  clearPrevent(nexus?: Nexus): void {
    if (nexus) this.preventers.delete(nexus.key);
    else this.preventers.clear();
  }

  /**
   * Before a WRITE, WRITE FILEMARKS or ERASE: DATA PROTECT when protected, and when the head is
   * not at end of data the tail is cut first (SSC-4: a write discards everything after it) so the
   * capacity checks see what will really be left. A WORM cartridge refuses to lose recorded
   * data: DATA PROTECT 30/0C (SSC-4 WORM model).
   */
  async prepareWrite(image: TapeImage): Promise<void> {
    this.requireWritableImage();
    noteVolumeChange(image, this.loadCounters);
    if (image.position().eod) return;
    try {
      await image.erase();
    } catch (err) {
      if (
        err instanceof VtlError &&
        err.code === 'ERR_STATE' &&
        mediaGeneration(image.meta.mediaType)?.worm
      ) {
        throw new SenseError(SSC_SENSE.WORM_OVERWRITE_ATTEMPTED);
      }
      throw err;
    }
  }

  /**
   * Inside the early-warning zone (SSC-4 early warning): at most `earlyWarning` bytes left
   * before the end of the partition. Checked after writes and at end of data, where the head is at EOD.
   */
  beyondEarlyWarning(image: TapeImage): boolean {
    // A partition's early warning is the cartridge's in proportion to its share (the image
    // reports it for the head, which is at EOD here).
    if (image.partitionCount > 1) return image.position().beyondEarlyWarning;
    return image.remaining <= image.meta.earlyWarning;
  }
}

function noop(): void {}

/**
 * TapeAlert (SSC-4 TapeAlert log page and the TapeAlert specification the LTO drives follow):
 * the 64 flags, which conditions raise them, and the drive's cleaning and media-wear state.
 *
 * Two kinds of flag:
 *   events      raised once by something that happened (a write refused by the write-protect
 *               tab, an expired cleaning cartridge loaded, fault injection from the API);
 *               reading the TapeAlert page (2Eh) clears them, as SSC-4 says for that page.
 *   conditions  true while a state lasts (the drive needs cleaning, the loaded cartridge is near
 *               or past the end of its life): shown on every read until the state ends, as a
 *               real drive sets them again on its next check.
 * Page 12h (TapeAlert response) shows both and clears nothing: PBS reads it for that reason.
 */
import { VtlError } from '../../util/errors.js';
import type { CartridgeMeta } from '../image/types.js';

/** Flag numbers (TapeAlert specification; PBS tape_alert_flags.rs names the same ones). */
export const TapeAlertFlag = {
  READ_WARNING: 0x01,
  WRITE_WARNING: 0x02,
  HARD_ERROR: 0x03,
  MEDIA: 0x04,
  READ_FAILURE: 0x05,
  WRITE_FAILURE: 0x06,
  MEDIA_LIFE: 0x07,
  NOT_DATA_GRADE: 0x08,
  WRITE_PROTECT: 0x09,
  NO_REMOVAL: 0x0a,
  CLEANING_MEDIA: 0x0b,
  UNSUPPORTED_FORMAT: 0x0c,
  NEARING_MEDIA_LIFE: 0x13,
  CLEAN_NOW: 0x14,
  CLEAN_PERIODIC: 0x15,
  EXPIRED_CLEANING_MEDIA: 0x16,
  INVALID_CLEANING_TAPE: 0x17,
  HARDWARE_A: 0x1e,
  HARDWARE_B: 0x1f,
  ENCRYPTION_POLICY_VIOLATION: 0x3d,
} as const;

export const TAPE_ALERT_FLAG_COUNT = 64;

/** Flags this drive can raise (VPD B2h TapeAlert Supported Flags): all 64 through injection. */
export const SUPPORTED_TAPE_ALERT_FLAGS: readonly number[] = Array.from(
  { length: TAPE_ALERT_FLAG_COUNT },
  (_, i) => i + 1,
);

export interface HealthOptions {
  /** Cleaning is required after this many hours with a cartridge threaded (0: never). */
  cleaningIntervalHours?: number;
  /** ... or after this many bytes read and written since the last cleaning (0: never). */
  cleaningIntervalBytes?: number;
  /** Full passes a cartridge is rated for (PBS assumes 16,000 for its wear-out figure). */
  mediaLifePasses?: number;
  /** Loads a cartridge is rated for (LTO media data sheets: 20,000). */
  mediaLifeLoads?: number;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

/** Fraction of rated life at which NEARING MEDIA LIFE (13h) is raised. */
const NEARING_LIFE = 0.9;

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0)
    throw new VtlError('ERR_INVALID_ARGUMENT', `${name} must be a number >= 0, got ${v}`);
  return v;
}

export class DriveHealth {
  readonly cleaningIntervalHours: number;
  readonly cleaningIntervalBytes: number;
  readonly mediaLifePasses: number;
  readonly mediaLifeLoads: number;
  readonly now: () => number;

  /** Event flags since the TapeAlert page was last read. */
  readonly events = new Set<number>();
  /** Lifetime cleaning operations (device statistics 0001h). */
  cleanings = 0;
  /** Bytes read and written by the drive since its last cleaning. */
  bytesSinceCleaning = 0;
  /** Threaded time since the last cleaning, excluding the current span. */
  private threadedMs = 0;
  private threadedSince: number | null = null;

  constructor(options: HealthOptions = {}) {
    this.cleaningIntervalHours = nonNegative('cleaningIntervalHours', options.cleaningIntervalHours ?? 0);
    this.cleaningIntervalBytes = nonNegative('cleaningIntervalBytes', options.cleaningIntervalBytes ?? 0);
    this.mediaLifePasses = nonNegative('mediaLifePasses', options.mediaLifePasses ?? 16_000);
    this.mediaLifeLoads = nonNegative('mediaLifeLoads', options.mediaLifeLoads ?? 20_000);
    this.now = options.now ?? Date.now;
  }

  /** Fault injection (API): raises flag 1..64 as an event. */
  inject(flag: number): void {
    if (!Number.isInteger(flag) || flag < 1 || flag > TAPE_ALERT_FLAG_COUNT) {
      throw new VtlError('ERR_INVALID_ARGUMENT', `TapeAlert flag must be 1..64, got ${flag}`);
    }
    this.events.add(flag);
  }

  threaded(on: boolean): void {
    const t = this.now();
    if (on && this.threadedSince === null) this.threadedSince = t;
    if (!on && this.threadedSince !== null) {
      this.threadedMs += t - this.threadedSince;
      this.threadedSince = null;
    }
  }

  /** Hours with a cartridge threaded since the last cleaning (device statistics 0008h). */
  hoursSinceCleaning(): number {
    const open = this.threadedSince === null ? 0 : this.now() - this.threadedSince;
    return (this.threadedMs + open) / 3_600_000;
  }

  /** The drive asks for cleaning (TapeAlert 14h, DT device status CRQRD, log 0Ch 0100h). */
  get cleaningRequired(): boolean {
    return (
      (this.cleaningIntervalHours > 0 && this.hoursSinceCleaning() >= this.cleaningIntervalHours) ||
      (this.cleaningIntervalBytes > 0 && this.bytesSinceCleaning >= this.cleaningIntervalBytes)
    );
  }

  /**
   * A cleaning cartridge went through the drive (the inventory counts its uses): an expired one
   * raises EXPIRED CLEANING MEDIA (16h) and cleans nothing; otherwise the drive is clean again.
   */
  clean(expired: boolean): void {
    if (expired) {
      this.events.add(TapeAlertFlag.EXPIRED_CLEANING_MEDIA);
      return;
    }
    this.events.delete(TapeAlertFlag.CLEAN_NOW);
    this.events.delete(TapeAlertFlag.CLEAN_PERIODIC);
    this.cleanings += 1;
    this.bytesSinceCleaning = 0;
    this.threadedMs = 0;
    if (this.threadedSince !== null) this.threadedSince = this.now();
  }

  /** Condition flags for the loaded cartridge (or none) and the drive. */
  conditions(meta: CartridgeMeta | null): number[] {
    const out: number[] = [];
    if (this.cleaningRequired) out.push(TapeAlertFlag.CLEAN_NOW);
    if (meta && meta.mediaType !== 'CLEANING') {
      const passes = meta.counters.passes / (this.mediaLifePasses || Infinity);
      const loads = meta.counters.loads / (this.mediaLifeLoads || Infinity);
      const life = Math.max(passes, loads);
      if (life >= 1) out.push(TapeAlertFlag.MEDIA_LIFE);
      else if (life >= NEARING_LIFE) out.push(TapeAlertFlag.NEARING_MEDIA_LIFE);
    }
    return out;
  }

  /** Every flag currently set, events and conditions, as a 64-bit mask (flag 1 = bit 63). */
  mask(meta: CartridgeMeta | null): bigint {
    let m = 0n;
    for (const f of [...this.events, ...this.conditions(meta)]) m |= 1n << BigInt(TAPE_ALERT_FLAG_COUNT - f);
    return m;
  }
}

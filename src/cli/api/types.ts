/**
 * Wire shapes of the management API (version 1), shared by the server (src/cli/api) and the
 * `vtl` client commands. Elements are numbered from 1 here, as operators and mtx count them.
 */
import type { JobRecord } from '../../migrate/job-store.js';
import type { MigrationErrorCode } from '../../migrate/remote.js';
import type { VtlErrorCode } from '../../util/errors.js';

export const API_PREFIX = '/api/v1';

/** Codes an error body carries: the library's own, plus the HTTP layer's. */
export type ApiErrorCode =
  | VtlErrorCode
  | MigrationErrorCode
  | 'ERR_NOT_FOUND' // no such route
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_INTERNAL';

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** Where a cartridge is: an element ('slot', 1-based number, SMC address) or the vault. */
export type LocationView =
  | { type: 'vault'; name: 'vault' }
  | { type: 'slot' | 'mailslot' | 'drive' | 'transport'; number: number; address: number; name: string };

export interface CartridgeView {
  barcode: string;
  mediaType: string;
  location: LocationView;
  /** The slot or mailslot a cartridge in a drive came from. */
  home?: LocationView;
  cleaningUsesLeft?: number;
  /** Put into its mailslot by the operator (not exported by the robot). */
  imported?: boolean;
}

export interface DriveView {
  lun: number;
  serial: string;
  vendor: string;
  product: string;
  /** 'empty', 'loaded' (threaded, ready) or 'unloaded' (ejected, still in the drive). */
  state: string;
  /** Barcode of the cartridge in the drive, or null. */
  cartridge: string | null;
  position: {
    partition: number;
    objectNumber: number;
    fileNumber: number;
    bop: boolean;
    eod: boolean;
  } | null;
  removalPrevented: boolean;
}

export interface ElementView {
  type: 'transport' | 'slot' | 'mailslot' | 'drive';
  number: number;
  address: number;
  name: string;
  cartridge: CartridgeView | null;
}

/** One library of the server, as GET /libraries lists it. */
export interface LibraryView {
  name: string;
  targetName: string;
  drives: number;
  changer: boolean;
  cartridges: number | null;
}

export interface LibraryListView {
  portals: string[];
  libraries: LibraryView[];
}

export interface StatusView {
  library: {
    /** The library's name ("default" for a config without `libraries`). */
    name: string;
    targetName: string;
    portals: string[];
    changer: {
      lun: 0;
      model: string;
      serial: string;
      slots: number;
      mailslots: number;
      mailslotsLocked: boolean;
    } | null;
  };
  drives: DriveView[];
  /** Every element in address order; null without a changer. */
  elements: ElementView[] | null;
}

export interface CartridgeListView {
  cartridges: CartridgeView[];
}

export interface CartridgeResultView {
  cartridge: CartridgeView;
}

/** POST /cartridges/:barcode/write-protect: the cartridge's tab as it is now. */
export interface WriteProtectView {
  cartridge: {
    barcode: string;
    mediaType: string;
    writeProtected: boolean;
    /** Where it is, in a library with a changer. */
    location?: LocationView;
  };
}

/** POST /drives/:lun/tapealert: the flag raised and every flag the drive has set now. */
export interface TapeAlertView {
  drive: { lun: number; serial: string };
  flag: number;
  /** Flags 1..64 set now (raised events not yet read by LOG SENSE 2Eh, and lasting conditions). */
  flags: number[];
}

export interface DeletedView {
  deleted: { barcode: string; from: LocationView };
}

/** A migration job as the Migrator records it (src/migrate/job-store.ts). */
export type JobView = JobRecord;

export interface JobListView {
  jobs: JobView[];
}

export interface JobResultView {
  job: JobView;
}

export interface JobsClearedView {
  /** Finished (completed, error, cancelled) records removed. */
  cleared: number;
}

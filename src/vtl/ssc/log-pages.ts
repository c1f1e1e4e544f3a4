/**
 * Drive log pages (SSC-4 log parameters): Sequential-Access Device (0Ch), DT Device Status (11h),
 * TapeAlert Response (12h), Data Compression (1Bh) and TapeAlert (2Eh). Volume and device
 * statistics and IBM's tape usage and capacity pages are in volume-log-pages.ts. Every value is
 * live: the drive's counters, the loaded cartridge's counters, TapeAlert state.
 */
import type { LogPageSpec, LogParameter } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { TapeDrive } from './drive.js';
import { TAPE_ALERT_FLAG_COUNT } from './tape-alert.js';
import { BINARY_LIST, CUMULATIVE, MB, counter } from './log-common.js';
import { VOLUME_LOG_PAGES } from './volume-log-pages.js';
import { ratio } from './data-path.js';

/**
 * Native bytes from BOP to the head: exact at EOD; elsewhere the recorded bytes in proportion to
 * the objects passed (the index keeps no byte offsets per object).
 */
function bytesBeforeHead(image: TapeImage): number {
  const p = image.position();
  if (p.eod || image.objectCount === 0) return image.bytesUsed;
  return Math.floor((image.bytesUsed * p.objectNumber) / image.objectCount);
}

/**
 * Sequential-Access Device log page (SSC-4): 0000h bytes received from the host on writes,
 * 0001h bytes written to the medium (after compression and encryption, data-path.ts), 0002h
 * bytes read from the medium, 0003h bytes sent to the host; 0004h-0007h native capacities in MB (BOP
 * to EOD, BOP to early warning, early warning to EOP, BOP to the head); 0100h cleaning required.
 */
export const sequentialAccessPage: LogPageSpec<TapeDrive> = {
  name: 'Sequential-Access Device',
  page: 0x0c,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const live = pc === CUMULATIVE;
    const c = live ? drive.counters : { bytesWritten: 0, bytesRead: 0 };
    const m = drive.dataPath.totals;
    const image = live ? drive.image : null;
    const mb = (n: number): number => Math.floor(n / MB);
    return [
      counter(0x0000, c.bytesWritten),
      counter(0x0001, live ? m.mediumWritten : 0),
      counter(0x0002, live ? m.mediumRead : 0),
      counter(0x0003, c.bytesRead),
      counter(0x0004, image ? mb(image.bytesUsed) : 0, 4),
      counter(0x0005, image ? mb(image.meta.capacity - image.meta.earlyWarning) : 0, 4),
      counter(0x0006, image ? mb(image.meta.earlyWarning) : 0, 4),
      counter(0x0007, image ? mb(bytesBeforeHead(image)) : 0, 4),
      counter(0x0100, live && drive.health.cleaningRequired ? 1 : 0, 1),
    ];
  },
  reset(drive: TapeDrive): void {
    drive.counters.bytesWritten = 0;
    drive.counters.bytesRead = 0;
    drive.dataPath.resetTotals();
  },
};

/** DT DEVICE ACTIVITY codes (SSC-4 DT Device Status log page; PBS DeviceActivity). */
export const DeviceActivity = { NO_ACTIVITY: 0x00, CALIBRATING: 0x0b } as const;

/**
 * DT Device Status log page (SSC-4 11h), parameter 0000h: the 4-byte very high frequency data.
 * Byte 0: PAMR, HIU, MACC, CMPR, WRTP, CRQST, CRQRD, DINIT (bit 0: the data is valid, PBS
 * requires it); byte 1: INXTN, RAA, MPRSNT, MSTD, MTHRD, MOUNTED; byte 2: DT DEVICE ACTIVITY;
 * byte 3 bit 0 TAFC (TapeAlert state changed). Answered from state at once, never waiting for a
 * long operation (PBS gives it a 1 s timeout).
 */
export const dtDeviceStatusPage: LogPageSpec<TapeDrive> = {
  name: 'DT Device Status',
  page: 0x11,
  subpage: 0,
  parameters(drive: TapeDrive): LogParameter[] {
    const present = drive.state !== 'empty';
    const threaded = drive.state === 'loaded';
    const b0 =
      (drive.removalPrevented ? 0x80 : 0) |
      (threaded ? 0x20 : 0) |
      (drive.compression ? 0x10 : 0) |
      (drive.writeProtected ? 0x08 : 0) |
      (drive.health.cleaningRequired ? 0x02 : 0) |
      0x01;
    const b1 = (present ? 0x10 | 0x04 : 0) | (threaded ? 0x02 | 0x01 : 0) | (present ? 0 : 0x20);
    const activity = drive.optimizing ? DeviceActivity.CALIBRATING : DeviceActivity.NO_ACTIVITY;
    const b3 = drive.tapeAlertMask() !== 0n ? 0x01 : 0;
    return [{ code: 0x0000, control: BINARY_LIST, value: Buffer.of(b0, b1, activity, b3) }];
  },
};

/**
 * TapeAlert Response log page (SSC-4 12h): one parameter 0000h of 8 bytes holding the 64 flags,
 * flag 1 in the most significant bit; page length 0Ch exactly (PBS checks). Reading it clears
 * nothing, which is why PBS uses it instead of 2Eh.
 */
export const tapeAlertResponsePage: LogPageSpec<TapeDrive> = {
  name: 'TapeAlert Response',
  page: 0x12,
  subpage: 0,
  parameters: (drive) => [counter(0x0000, drive.tapeAlertMask(), 8, BINARY_LIST)],
};

/**
 * Data Compression log page (SSC-4 1Bh): 0000h read and 0001h write compression ratio x100
 * (host bytes over bytes after zstd, data-path.ts; 100 before any transfer), then MB and
 * remaining bytes transferred: 0002h/0003h to the host, 0004h/0005h read from the medium,
 * 0006h/0007h from the host, 0008h/0009h to the medium; 0100h data compression enabled.
 */
export const dataCompressionPage: LogPageSpec<TapeDrive> = {
  name: 'Data Compression',
  page: 0x1b,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const live = pc === CUMULATIVE;
    const w = live ? drive.counters.bytesWritten : 0;
    const r = live ? drive.counters.bytesRead : 0;
    const t = drive.dataPath.totals;
    const split = (code: number, n: number): LogParameter[] => [
      counter(code, Math.floor(n / MB), 4),
      counter(code + 1, n % MB, 4),
    ];
    return [
      counter(0x0000, live ? ratio(t.hostRead, t.compressedRead) : 0, 2),
      counter(0x0001, live ? ratio(t.hostWritten, t.compressedWritten) : 0, 2),
      ...split(0x0002, r),
      ...split(0x0004, live ? t.mediumRead : 0),
      ...split(0x0006, w),
      ...split(0x0008, live ? t.mediumWritten : 0),
      counter(0x0100, live && drive.compression ? 1 : 0, 1),
    ];
  },
  reset(drive: TapeDrive): void {
    drive.counters.bytesWritten = 0;
    drive.counters.bytesRead = 0;
    drive.dataPath.resetTotals();
  },
};

/**
 * TapeAlert log page (SSC-4 2Eh): parameters 0001h-0040h, one byte each in binary list format,
 * flag N set when condition N is active or event N happened since the page was last read.
 * Reading it (page control 00b, which tapeinfo uses, or 01b) clears the event flags (SSC-4);
 * conditions such as CLEAN NOW stay until they end.
 */
export const tapeAlertPage: LogPageSpec<TapeDrive> = {
  name: 'TapeAlert',
  page: 0x2e,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const live = pc === 0 || pc === CUMULATIVE;
    const mask = live ? drive.tapeAlertMask() : 0n;
    const out: LogParameter[] = [];
    for (let flag = 1; flag <= TAPE_ALERT_FLAG_COUNT; flag++) {
      const set = (mask >> BigInt(TAPE_ALERT_FLAG_COUNT - flag)) & 1n;
      out.push({ code: flag, control: BINARY_LIST, value: Buffer.of(Number(set)) });
    }
    if (live) drive.tapeAlerts.clear();
    return out;
  },
  reset(drive: TapeDrive): void {
    drive.tapeAlerts.clear();
  },
};

export const TAPE_LOG_PAGES: readonly LogPageSpec<TapeDrive>[] = [
  sequentialAccessPage,
  dtDeviceStatusPage,
  tapeAlertResponsePage,
  dataCompressionPage,
  tapeAlertPage,
  ...VOLUME_LOG_PAGES,
];

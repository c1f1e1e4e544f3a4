/**
 * Statistics pages: Device Statistics (SSC-4 14h), Volume Statistics (SSC-4 17h), and IBM's
 * Tape Usage (30h) and Tape Capacity (31h) log pages (IBM LTO SCSI Reference), which Backup
 * Exec probes and LTFS reads on IBM LTO-5. Volume values come from the loaded cartridge's
 * counters (`cartridge.json`), so they follow the cartridge from drive to drive.
 */
import type { LogPageSpec, LogParameter } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { TapeDrive } from './drive.js';
import { ASCII_LIST, BINARY_LIST, CUMULATIVE, MB, counter } from './log-common.js';
import { mediaGeneration } from './models.js';
import { ratio } from './data-path.js';
import { partitionFigures } from './partitions.js';

const mb = (n: number): number => Math.floor(n / MB);

/** 0012h write and 0013h read compression ratio x100 of the loaded volume. */
function volumeRatios(drive: TapeDrive, image: TapeImage): LogParameter[] {
  const t = drive.dataPath.volumeTotals(image);
  return [
    counter(0x0012, ratio(t.hostWritten, t.compressedWritten), 2),
    counter(0x0013, ratio(t.hostRead, t.compressedRead), 2),
  ];
}
/** LTO writes data in data sets of about 2.4 MB (LTO-5); counted as 2 MiB units here. */
const DATASET = 2 * 1024 * 1024;

function ascii(code: number, s: string): LogParameter {
  // ASCII parameters are padded to a multiple of four bytes (SPC-4 7.3.2.4).
  const n = Math.max(4, (s.length + 3) & ~3);
  const b = Buffer.alloc(n, 0x20);
  b.write(s, 'latin1');
  return { code, control: ASCII_LIST, value: b };
}

/**
 * Device Statistics (SSC-4 14h): 0000h lifetime volume loads, 0001h lifetime cleaning
 * operations, 0002h lifetime power-on hours, 0003h lifetime medium motion hours, 0008h medium
 * motion hours since the last cleaning, 000Dh volume loads since the last reset, 000Eh/000Fh
 * hard write/read errors (none), 0040h drive serial number.
 */
export const deviceStatisticsPage: LogPageSpec<TapeDrive> = {
  name: 'Device Statistics',
  page: 0x14,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const live = pc === CUMULATIVE;
    const v = (n: number): number => (live ? n : 0);
    const motion = Math.floor(drive.health.hoursSinceCleaning());
    return [
      counter(0x0000, v(drive.loadsInLife), 4),
      counter(0x0001, v(drive.health.cleanings), 4),
      counter(0x0002, v(Math.floor(process.uptime() / 3600)), 4),
      counter(0x0003, v(motion), 4),
      counter(0x0008, v(motion), 4),
      counter(0x000d, v(drive.loadsSinceReset), 4),
      counter(0x000e, 0, 4),
      counter(0x000f, 0, 4),
      ascii(0x0040, drive.serial),
    ];
  },
  reset(drive: TapeDrive): void {
    drive.loadsSinceReset = 0;
  },
};

/** 8-byte partition record: LENGTH (7), reserved, PARTITION NUMBER, 4-byte value (SSC-4 17h 0202h-0204h). */
function partitionRecords(code: number, values: number[]): LogParameter {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, p) => {
    b[8 * p] = 7;
    b.writeUInt16BE(p, 8 * p + 2);
    b.writeUInt32BE(Math.min(0xffffffff, v), 8 * p + 4);
  });
  return { code, control: BINARY_LIST, value: b };
}

function volumeParameters(drive: TapeDrive, image: TapeImage): LogParameter[] {
  const c = image.meta.counters;
  const worm = mediaGeneration(image.meta.mediaType)?.worm === true;
  const writtenThisLoad = c.bytesWritten - drive.loadCounters.bytesWrittenAtLoad;
  const readThisLoad = c.bytesRead - drive.loadCounters.bytesReadAtLoad;
  const parts = partitionFigures(image);
  const used = parts.reduce((n, p) => n + p.used, 0);
  return [
    // 0000h PAGE VALID: PBS refuses the page unless it is non-zero.
    counter(0x0000, 1, 1),
    counter(0x0001, c.loads, 4),
    counter(0x0002, Math.ceil(c.bytesWritten / DATASET), 4),
    counter(0x0003, 0, 4),
    counter(0x0004, 0, 4),
    counter(0x0005, 0, 4),
    counter(0x0006, 0, 4),
    counter(0x0007, Math.ceil(c.bytesRead / DATASET), 4),
    counter(0x0008, 0, 4),
    counter(0x0009, 0, 4),
    counter(0x000c, 0, 4),
    counter(0x000d, 0, 4),
    // 000Eh-0011h and 0016h/0017h are in MB (PBS multiplies them by 10^6).
    counter(0x000e, mb(writtenThisLoad), 4),
    counter(0x000f, mb(readThisLoad), 4),
    counter(0x0010, mb(c.bytesWritten), 4),
    counter(0x0011, mb(c.bytesRead), 4),
    // Compression ratios x100 of this load (data-path.ts; 100 before any transfer).
    ...volumeRatios(drive, image),
    counter(0x0016, mb(image.meta.capacity), 4),
    counter(0x0017, mb(used), 4),
    ascii(0x0040, image.label),
    counter(0x0080, image.meta.writeProtected || drive.writeProtected ? 1 : 0, 1),
    counter(0x0081, worm ? 1 : 0, 1),
    counter(0x0101, c.passes, 4),
    counter(0x0102, c.passes, 4),
    // LTFS: native capacity, used capacity and remaining capacity of each partition, in MB.
    partitionRecords(
      0x0202,
      parts.map((p) => mb(p.capacity)),
    ),
    partitionRecords(
      0x0203,
      parts.map((p) => mb(p.used)),
    ),
    partitionRecords(
      0x0204,
      parts.map((p) => mb(p.remaining)),
    ),
  ];
}

/**
 * Volume Statistics (SSC-4 17h) of the loaded cartridge: PAGE VALID, mounts, data sets written
 * and read, MB written/read this mount and in life, capacities, volume serial, write protect and
 * WORM, passes, per-partition capacities. Without a cartridge the page holds PAGE VALID 0 only.
 */
export const volumeStatisticsPage: LogPageSpec<TapeDrive> = {
  name: 'Volume Statistics',
  page: 0x17,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const image = drive.image;
    if (pc !== CUMULATIVE || !image) return [counter(0x0000, 0, 1)];
    return volumeParameters(drive, image);
  },
};

/**
 * IBM Tape Usage (30h): 0001h volume mounts (4), 0002h volume written data sets (8), 0003h
 * write retries (4), 0004h write perms (2), 0005h suspended writes (2), 0006h fatal suspended
 * writes (2), 0007h volume read data sets (8), 0008h read retries (4), 0009h read perms (2),
 * 000Ah suspended reads (2), 000Bh fatal suspended reads (2).
 */
export const tapeUsagePage: LogPageSpec<TapeDrive> = {
  name: 'Tape Usage',
  page: 0x30,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const c = pc === CUMULATIVE ? drive.image?.meta.counters : undefined;
    return [
      counter(0x0001, c?.loads ?? 0, 4),
      counter(0x0002, c ? Math.ceil(c.bytesWritten / DATASET) : 0, 8),
      counter(0x0003, 0, 4),
      counter(0x0004, 0, 2),
      counter(0x0005, 0, 2),
      counter(0x0006, 0, 2),
      counter(0x0007, c ? Math.ceil(c.bytesRead / DATASET) : 0, 8),
      counter(0x0008, 0, 4),
      counter(0x0009, 0, 2),
      counter(0x000a, 0, 2),
      counter(0x000b, 0, 2),
    ];
  },
};

/**
 * IBM Tape Capacity (31h): 0001h partition 0 remaining, 0002h partition 1 remaining, 0003h
 * partition 0 maximum, 0004h partition 1 maximum, 4 bytes each in MB (LTFS reads it on LTO-5).
 */
export const tapeCapacityPage: LogPageSpec<TapeDrive> = {
  name: 'Tape Capacity',
  page: 0x31,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const image = pc === CUMULATIVE ? drive.image : null;
    const parts = image ? partitionFigures(image) : [];
    return [
      counter(0x0001, mb(parts[0]?.remaining ?? 0), 4),
      counter(0x0002, mb(parts[1]?.remaining ?? 0), 4),
      counter(0x0003, mb(parts[0]?.capacity ?? 0), 4),
      counter(0x0004, mb(parts[1]?.capacity ?? 0), 4),
    ];
  },
};

export const VOLUME_LOG_PAGES: readonly LogPageSpec<TapeDrive>[] = [
  deviceStatisticsPage,
  volumeStatisticsPage,
  tapeUsagePage,
  tapeCapacityPage,
];

/**
 * Partitions (SSC-4 partitions within a volume; Medium Partition mode page 11h; FORMAT MEDIUM)
 * with IBM LTO semantics: the page reports POFM=1 (partitioning on format), so MODE SELECT of
 * page 11h only records the layout the host wants, checked against the loaded cartridge, and
 * FORMAT MEDIUM FORMAT=1 or 2 lays it down (format.ts). That is the order both partitioning
 * clients use: LTFS `tape_format` (MODE SENSE 11h, MODE SELECT 11h, FORMAT MEDIUM 1) and the
 * Linux st driver's MTMKPART (LOAD, MODE SENSE 11h, MODE SELECT 11h, FORMAT MEDIUM 1 when POFM
 * is set; FORMAT MEDIUM 0 alone to go back to one partition).
 *
 * The page's length follows the drive: two partition size descriptors on LTO-5/6 (one additional
 * partition), four from LTO-7 on (three additional partitions; mtp, the LTO partitioning tool,
 * creates up to four partitions on LTO-7 drives). MODE SELECT may send fewer descriptors (st
 * sends two whatever the drive reports when POFM is set), so the page accepts any length of
 * 8 + 2n bytes up to the reported one.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { ModePageSpec, PageControl } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { TapeDrive } from './drive.js';
import type { DriveModel } from './models.js';

/** A layout MODE SELECT asked for, for the cartridge it was checked against. */
export interface PartitionPlan {
  readonly image: TapeImage;
  /** Bytes per partition; null is one partition of the whole capacity (FORMAT default). */
  readonly layout: number[] | null;
}

/**
 * MAXIMUM ADDITIONAL PARTITIONS: 1 on LTO-5/6, 3 from LTO-7 on (four partitions). A published
 * tapeinfo of an IBM ULTRIUM-HH8 shows "MaxPartitions: 3", one of an LTO-5 "MaxPartitions: 1".
 */
export function maxAdditionalPartitions(model: DriveModel): number {
  return model.generation >= 7 ? 3 : 1;
}

/** Page header through byte 7; the partition size descriptors follow, two bytes each. */
const FIXED_LENGTH = 8;
const SIZES_AT = 8;
const ADDITIONAL_AT = 3;
const FLAGS_AT = 4;

export const FDP = 0x80;
export const SDP = 0x40;
export const IDP = 0x20;
const PSUM_MASK = 0x18;
/** PSUM 11b: sizes in units of 10^PARTITION UNITS bytes (what the page reports and LTFS keeps). */
export const PSUM_UNITS = 0x18;
/** PSUM 10b: megabytes (st's unit below 1000 MB). */
export const PSUM_MB = 0x10;
/** POFM: partitioning happens on FORMAT MEDIUM, as on IBM LTO drives. */
export const POFM = 0x04;
/** MEDIUM FORMAT RECOGNITION 03h: format and partition recognition. */
const FORMAT_AND_PARTITION_RECOGNITION = 0x03;
/** A partition size of FFFFh: the capacity left over (LTFS and st both use it). */
const REST = 0xffff;

export const mediumPartitionPageLength = (model: DriveModel): number =>
  FIXED_LENGTH + 2 * (maxAdditionalPartitions(model) + 1);

/** Bytes per unit of the partition size descriptors for a PSUM and PARTITION UNITS. */
function unitBytes(psum: number, units: number): number {
  switch (psum) {
    case 0x00:
      return 1;
    case 0x08:
      return 1e3;
    case PSUM_MB:
      return 1e6;
    default:
      return 10 ** units;
  }
}

/** The smallest power of ten from megabytes up in which every capacity fits a size descriptor. */
function reportUnits(capacities: readonly number[]): number {
  const largest = Math.max(0, ...capacities);
  let units = 6;
  while (units < 15 && largest / 10 ** units > REST - 1) units++;
  return units;
}

function invalidParameter(byte: number, bit?: number): SenseError {
  return new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, {
    inParameterList: true,
    fieldPointer: byte,
    ...(bit === undefined ? {} : { bitPointer: bit }),
  });
}

interface PartitionPage {
  readonly additional: number;
  readonly flags: number;
  readonly units: number;
  readonly sizes: number[];
}

function decodePage(page: Buffer): PartitionPage {
  const r = new ByteReader(page, ADDITIONAL_AT);
  const additional = r.u8();
  const flags = r.u8();
  const units = r.skip(1).u8() & 0x0f;
  r.skip(1);
  const sizes: number[] = [];
  while (r.remaining >= 2) sizes.push(r.u16());
  return { additional, flags, units, sizes };
}

/** Splits `capacity` into `n` partitions of equal size, the last taking what division leaves. */
function equalSplit(capacity: number, n: number): number[] {
  const each = Math.floor(capacity / n);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? capacity - each * (n - 1) : each));
}

/**
 * The layout a page asks for on a cartridge of `capacity` bytes (SSC-4 medium partition page):
 * FDP lets the drive choose (two equal partitions here), SDP takes the count from ADDITIONAL
 * PARTITIONS DEFINED and the drive chooses equal sizes, IDP takes the sizes from the
 * descriptors in PSUM units, FFFFh being the rest. Refusals point at the field at fault.
 */
export function resolveLayout(q: PartitionPage, capacity: number): number[] | null {
  if (q.flags & FDP) return equalSplit(capacity, 2);
  if (q.additional === 0) return null;
  if (q.flags & SDP) return equalSplit(capacity, q.additional + 1);
  const n = q.additional + 1;
  // IDP: one size descriptor per partition; fewer means the page is too short for the count.
  if (q.sizes.length < n) throw invalidParameter(1);
  const unit = unitBytes(q.flags & PSUM_MASK, q.units);
  let rest = -1;
  const layout = q.sizes.slice(0, n).map((v, i) => {
    if (v === 0) throw invalidParameter(SIZES_AT + 2 * i);
    if (v !== REST) return v * unit;
    if (rest >= 0) throw invalidParameter(SIZES_AT + 2 * i);
    rest = i;
    return 0;
  });
  const fixed = layout.reduce((a, b) => a + b, 0);
  const last = SIZES_AT + 2 * (rest >= 0 ? rest : n - 1);
  if (rest >= 0) {
    if (fixed >= capacity) throw invalidParameter(last);
    layout[rest] = capacity - fixed;
  } else if (fixed > capacity) {
    throw invalidParameter(last);
  }
  return layout;
}

/**
 * Medium Partition page (SSC-4): MAXIMUM ADDITIONAL PARTITIONS from the personality, ADDITIONAL
 * PARTITIONS DEFINED and the sizes of the loaded cartridge's partitions (IDP once partitioned),
 * PSUM 11b with the smallest PARTITION UNITS from megabytes up that fits them, POFM set.
 * Changeable: ADDITIONAL PARTITIONS DEFINED, FDP/SDP/IDP, PSUM, PARTITION UNITS and the sizes.
 */
export const mediumPartitionPage: ModePageSpec<TapeDrive> = {
  name: 'Medium Partition',
  page: 0x11,
  subpage: 0,
  length: FIXED_LENGTH + 2 * 4,
  encode(drive: TapeDrive, pc: PageControl): Buffer {
    const length = mediumPartitionPageLength(drive.model);
    const slots = (length - FIXED_LENGTH) / 2;
    const w = new ByteWriter(length);
    w.u8(0x11).u8(length - 2);
    if (pc === 'changeable') {
      w.u8(0)
        .u8(0xff)
        .u8(FDP | SDP | IDP | PSUM_MASK)
        .u8(0)
        .u8(0x0f)
        .u8(0);
      for (let i = 0; i < slots; i++) w.u16(0xffff);
      return w.buf;
    }
    const image = pc === 'current' ? drive.image : null;
    const capacities = image ? image.partitionCapacities().slice(0, slots) : [];
    const units = image ? reportUnits(capacities) : 9;
    w.u8(maxAdditionalPartitions(drive.model)).u8(Math.max(0, capacities.length - 1));
    w.u8((capacities.length > 1 ? IDP : 0) | PSUM_UNITS | POFM).u8(FORMAT_AND_PARTITION_RECOGNITION);
    w.u8(units).u8(0);
    for (const c of capacities) w.u16(Math.min(REST - 1, Math.round(c / 10 ** units)));
    return w.buf;
  },
  acceptsLength(_drive: TapeDrive, length: number): boolean {
    return length >= FIXED_LENGTH && (length - FIXED_LENGTH) % 2 === 0;
  },
  select(drive: TapeDrive, page: Buffer): void {
    const current = mediumPartitionPage.encode(drive, 'current');
    // The page echoed as MODE SENSE reported it (PS aside) asks for nothing new.
    if (page.subarray(1).equals(current.subarray(1, page.length))) return;
    const q = decodePage(page);
    if (q.additional > maxAdditionalPartitions(drive.model)) throw invalidParameter(ADDITIONAL_AT);
    const kinds = q.flags & (FDP | SDP | IDP);
    // At most one way of defining partitions; with none, only one partition can be asked for.
    if ((kinds & (kinds - 1)) !== 0 || (kinds === 0 && q.additional > 0)) {
      throw invalidParameter(FLAGS_AT, 31 - Math.clz32(kinds || IDP));
    }
    const image = drive.image;
    if (!image) {
      // Sizes are checked against the cartridge that will be formatted: none is loaded.
      if (q.additional > 0 || kinds === FDP) throw new SenseError(SENSE.MEDIUM_NOT_PRESENT);
      drive.partitionPlan = null;
      return;
    }
    drive.partitionPlan = { image, layout: resolveLayout(q, image.meta.capacity) };
  },
};

/**
 * The layout FORMAT MEDIUM FORMAT=1/2 lays down: what MODE SELECT asked for on this cartridge,
 * else the cartridge's own layout (the page's current values).
 */
export function plannedLayout(drive: TapeDrive, image: TapeImage): number[] | null {
  const plan = drive.partitionPlan;
  if (plan && plan.image === image) return plan.layout;
  return image.partitionCount > 1 ? image.partitionCapacities() : null;
}

/** Per-partition capacity figures in partition order (log pages 17h and 31h, MAM 0000h/0001h). */
export function partitionFigures(image: TapeImage): { capacity: number; used: number; remaining: number }[] {
  const used = image.partitionBytesUsed();
  return image.partitionCapacities().map((capacity, p) => ({
    capacity,
    used: used[p],
    remaining: Math.max(0, capacity - used[p]),
  }));
}

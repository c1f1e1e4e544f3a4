/**
 * Drive personalities: what INQUIRY says, which LTO densities a drive generation reads and
 * writes, and the codes cartridges are reported by (mode header MEDIUM TYPE, block descriptor
 * DENSITY CODE, REPORT DENSITY SUPPORT). Tables, not code (STYLE.md 1).
 *
 * Generation rules (LTO Program compatibility): an LTO-5..7 drive writes its own and the previous
 * generation and reads one further back; an LTO-8 drive reads and writes LTO-7 and LTO-8 and
 * formats LTO-7 cartridges as type M (M8, density 5Dh); an LTO-9 drive reads and writes LTO-8
 * and LTO-9 only (LTFS ibm_tape.c `lto_drive_density` encodes the same table).
 */
import type { MediaType } from '../image/types.js';
import { VtlError } from '../../util/errors.js';

/** One recording format as REPORT DENSITY SUPPORT describes it (SSC-4 density support descriptor). */
export interface DensityInfo {
  /** PRIMARY DENSITY CODE (SSC-4 annex; PBS pbs-api-types `TapeDensity`). */
  readonly code: number;
  /** LTO generation of the cartridge this format is recorded on (M8 is on LTO-7 media). */
  readonly cartridgeGeneration: number;
  readonly bitsPerMm: number;
  readonly tracks: number;
  /** Native capacity in megabytes (10^6 bytes), as the CAPACITY field carries it. */
  readonly capacityMb: number;
  readonly name: string;
  readonly description: string;
}

/** LTO densities; media width 12.65 mm is reported as 127 tenths of a millimetre. */
export const DENSITIES = {
  LTO3: {
    code: 0x44,
    cartridgeGeneration: 3,
    bitsPerMm: 9638,
    tracks: 704,
    capacityMb: 400_000,
    name: 'U-316',
    description: 'Ultrium 3/16T',
  },
  LTO4: {
    code: 0x46,
    cartridgeGeneration: 4,
    bitsPerMm: 13250,
    tracks: 896,
    capacityMb: 800_000,
    name: 'U-416',
    description: 'Ultrium 4/16T',
  },
  LTO5: {
    code: 0x58,
    cartridgeGeneration: 5,
    bitsPerMm: 15142,
    tracks: 1280,
    capacityMb: 1_500_000,
    name: 'U-516',
    description: 'Ultrium 5/16T',
  },
  LTO6: {
    code: 0x5a,
    cartridgeGeneration: 6,
    bitsPerMm: 15143,
    tracks: 2176,
    capacityMb: 2_500_000,
    name: 'U-616',
    description: 'Ultrium 6/16T',
  },
  LTO7: {
    code: 0x5c,
    cartridgeGeneration: 7,
    bitsPerMm: 19094,
    tracks: 3584,
    capacityMb: 6_000_000,
    name: 'U-732',
    description: 'Ultrium 7/32T',
  },
  LTOM8: {
    code: 0x5d,
    cartridgeGeneration: 7,
    bitsPerMm: 20668,
    tracks: 5376,
    capacityMb: 9_000_000,
    name: 'U-732M',
    description: 'Ultrium 7/32T M8',
  },
  LTO8: {
    code: 0x5e,
    cartridgeGeneration: 8,
    bitsPerMm: 20668,
    tracks: 6656,
    capacityMb: 12_000_000,
    name: 'U-832',
    description: 'Ultrium 8/32T',
  },
  LTO9: {
    code: 0x60,
    cartridgeGeneration: 9,
    bitsPerMm: 23007,
    tracks: 8960,
    capacityMb: 18_000_000,
    name: 'U-932',
    description: 'Ultrium 9/32T',
  },
} as const satisfies Record<string, DensityInfo>;

export const MEDIA_WIDTH_TENTHS_MM = 127;
export const DENSITY_ASSIGNING_ORGANIZATION = 'LTO-CVE';

/** A density as one drive generation supports it. */
export interface DriveDensity {
  readonly density: DensityInfo;
  /** The drive can record in this format (WRTOK). */
  readonly write: boolean;
}

/** How the mode parameter header's MEDIUM TYPE byte is filled. */
export type MediumTypeStyle =
  /** IBM cartridge type codes: generation << 4 | 8 (data) or | 0Ch (WORM) (LTFS tape_drivers.h). */
  | 'ibm'
  /** HP/HPE: 00h data, 01h WORM; hosts infer the generation from the density code. */
  | 'hp';

export interface DriveModel {
  /** 'VENDOR PRODUCT', the key used in configuration (src/vtl/config.ts `drive.model`). */
  readonly key: string;
  readonly vendor: string;
  readonly product: string;
  /** LTFS refuses IBM LTO-5 below 'B170' and LTO-8 below 'HB81' (ibm_tape_is_supported_firmware). */
  readonly revision: string;
  readonly generation: number;
  readonly densities: readonly DriveDensity[];
  readonly mediumTypeStyle: MediumTypeStyle;
}

const rw = (density: DensityInfo): DriveDensity => ({ density, write: true });
const ro = (density: DensityInfo): DriveDensity => ({ density, write: false });

/** Densities per drive generation, highest (native, the default) first. */
const GENERATION_DENSITIES: Record<number, readonly DriveDensity[]> = {
  5: [rw(DENSITIES.LTO5), rw(DENSITIES.LTO4), ro(DENSITIES.LTO3)],
  6: [rw(DENSITIES.LTO6), rw(DENSITIES.LTO5), ro(DENSITIES.LTO4)],
  7: [rw(DENSITIES.LTO7), rw(DENSITIES.LTO6), ro(DENSITIES.LTO5)],
  8: [rw(DENSITIES.LTO8), rw(DENSITIES.LTOM8), rw(DENSITIES.LTO7)],
  9: [rw(DENSITIES.LTO9), rw(DENSITIES.LTO8)],
};

function model(
  vendor: string,
  product: string,
  revision: string,
  generation: number,
  style: MediumTypeStyle,
): DriveModel {
  return {
    key: `${vendor} ${product}`,
    vendor,
    product,
    revision,
    generation,
    densities: GENERATION_DENSITIES[generation],
    mediumTypeStyle: style,
  };
}

/** Personalities whose INQUIRY strings LTFS, PBS and the vendor drivers recognise (clients.md 2). */
export const DRIVE_MODELS: readonly DriveModel[] = [
  model('IBM', 'ULT3580-TD5', 'G350', 5, 'ibm'),
  model('IBM', 'ULT3580-TD6', 'J451', 6, 'ibm'),
  model('IBM', 'ULT3580-TD7', 'JAX1', 7, 'ibm'),
  model('IBM', 'ULT3580-TD8', 'KAJ1', 8, 'ibm'),
  model('IBM', 'ULT3580-TD9', 'N9J1', 9, 'ibm'),
  model('HP', 'Ultrium 5-SCSI', 'Z6JD', 5, 'hp'),
  model('HP', 'Ultrium 6-SCSI', '35GD', 6, 'hp'),
  model('HP', 'Ultrium 7-SCSI', 'J4DB', 7, 'hp'),
  model('HPE', 'Ultrium 8-SCSI', 'K5G4', 8, 'hp'),
  model('HPE', 'Ultrium 9-SCSI', 'P3A1', 9, 'hp'),
];

export const DEFAULT_DRIVE_MODEL = 'IBM ULT3580-TD8';

/** Looks a personality up by its 'VENDOR PRODUCT' key; unknown keys are a configuration error. */
export function findDriveModel(key: string = DEFAULT_DRIVE_MODEL): DriveModel {
  const found = DRIVE_MODELS.find((m) => m.key === key);
  if (!found) {
    throw new VtlError(
      'ERR_CONFIG',
      `unknown drive model ${JSON.stringify(key)}; known: ${DRIVE_MODELS.map((m) => m.key).join(', ')}`,
    );
  }
  return found;
}

/** Generation and WORM-ness of a cartridge; null for a cleaning cartridge. */
export function mediaGeneration(media: MediaType): { generation: number; worm: boolean } | null {
  // Pure and asked on every medium-access command (requireImage): answered once per type.
  let g = generationCache.get(media);
  if (g === undefined) {
    const m = /^LTO(\d)(-WORM)?$/.exec(media);
    g = m ? Object.freeze({ generation: Number(m[1]), worm: m[2] !== undefined }) : null;
    generationCache.set(media, g);
  }
  return g;
}
const generationCache = new Map<MediaType, { generation: number; worm: boolean } | null>();

/** The density a cartridge of this type is recorded in (its own generation's format). */
export function mediaDensity(media: MediaType): DensityInfo | null {
  let d = densityCache.get(media);
  if (d === undefined) {
    const g = mediaGeneration(media);
    d = g
      ? (Object.values(DENSITIES).find(
          (x) => x.cartridgeGeneration === g.generation && x.code !== DENSITIES.LTOM8.code,
        ) ?? null)
      : null;
    densityCache.set(media, d);
  }
  return d;
}
const densityCache = new Map<MediaType, DensityInfo | null>();

/** What a drive can do with a cartridge type (LTO compatibility rules above). */
export function mediaAccess(
  drive: DriveModel,
  media: MediaType,
): 'read-write' | 'read-only' | 'incompatible' {
  const d = mediaDensity(media);
  const supported = d && drive.densities.find((x) => x.density.code === d.code);
  if (!supported) return 'incompatible';
  return supported.write ? 'read-write' : 'read-only';
}

/** MEDIUM TYPE byte of the mode parameter header for a loaded cartridge. */
export function mediumTypeCode(drive: DriveModel, media: MediaType): number {
  const g = mediaGeneration(media);
  if (!g) return 0x00;
  if (drive.mediumTypeStyle === 'hp') return g.worm ? 0x01 : 0x00;
  return (g.generation << 4) | (g.worm ? 0x0c : 0x08);
}

/**
 * Drive personalities: what INQUIRY says, which LTO densities a drive generation reads and
 * writes, and the codes cartridges are reported by (mode header MEDIUM TYPE, block descriptor
 * DENSITY CODE, REPORT DENSITY SUPPORT). Tables, not code (STYLE.md 1).
 *
 * Generation rules (LTO Program compatibility): an LTO-5..7 drive writes its own and the previous
 * generation and reads one further back; an LTO-8 drive reads and writes LTO-7 and LTO-8 and
 * formats LTO-7 cartridges as type M (M8, density 5Dh); an LTO-9 drive reads and writes LTO-8
 * and LTO-9 only; an LTO-10 drive reads and writes LTO-10 only (LTFS ibm_tape.c
 * `lto_drive_density` encodes the same table, LTO-10 as drive type 'TDA'/'HHA', density 62h).
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
  // LTO-10 (LTFS tape_ops.h TC_DC_LTO10 = 62h, 30 TB native). The LTO Program has not published
  // linear density and track count: 0 in BITS PER MM and TRACKS means "not reported".
  LTO10: {
    code: 0x62,
    cartridgeGeneration: 10,
    bitsPerMm: 0,
    tracks: 0,
    capacityMb: 30_000_000,
    name: 'U-A32',
    description: 'Ultrium 10/32T',
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

/** Full-height or half-height drive (LTFS tells them apart for its timeout tables). */
export type FormFactor = 'full-height' | 'half-height';

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
  readonly formFactor: FormFactor;
  /** Native (uncompressed) transfer rate in MB/s, as the vendor data sheets give it. */
  readonly speedMBps: number;
  /** IBM vendor pages (VPD C0h/C1h, mode pages 24h/25h) that IBM's Windows driver expects. */
  readonly ibmVendorPages: boolean;
  /**
   * LTO-9 and later optimize a new cartridge on its first load (PBS docs "LTO-9+ considerations"):
   * the drive is NOT READY 04/01 meanwhile.
   */
  readonly mediaOptimization: boolean;
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
  10: [rw(DENSITIES.LTO10)],
};

/** Native MB/s per generation: [full-height, half-height] (LTO Program / vendor data sheets). */
const SPEED: Record<number, readonly [number, number]> = {
  5: [140, 140],
  6: [160, 160],
  7: [300, 300],
  8: [360, 300],
  9: [400, 300],
  10: [400, 400],
};

function model(
  vendor: string,
  product: string,
  revision: string,
  generation: number,
  formFactor: FormFactor,
): DriveModel {
  const ibm = vendor === 'IBM';
  return {
    key: `${vendor} ${product}`,
    vendor,
    product,
    revision,
    generation,
    densities: GENERATION_DENSITIES[generation],
    // LTFS reads IBM cartridge type codes for IBM only; HP/HPE and Quantum report 00h/01h and
    // leave the generation to the density code (LTFS `sg_load`, hp_tape.c, quantum_tape.c).
    mediumTypeStyle: ibm ? 'ibm' : 'hp',
    formFactor,
    speedMBps: SPEED[generation][formFactor === 'full-height' ? 0 : 1],
    ibmVendorPages: ibm,
    mediaOptimization: generation >= 9,
  };
}

/**
 * Personalities whose INQUIRY strings LTFS's whitelists accept (ibm_tape.c, hp_tape.c,
 * quantum_tape.c `supported_devices`) and PBS and the vendor drivers recognise (clients.md 2).
 * IBM revisions pass LTFS's firmware gate (4-character compare: LTO-5 >= B170, LTO-8 >= HB81).
 */
export const DRIVE_MODELS: readonly DriveModel[] = [
  model('IBM', 'ULT3580-TD5', 'G350', 5, 'full-height'),
  model('IBM', 'ULT3580-TD6', 'J451', 6, 'full-height'),
  model('IBM', 'ULT3580-TD7', 'JAX1', 7, 'full-height'),
  model('IBM', 'ULT3580-TD8', 'KAJ1', 8, 'full-height'),
  model('IBM', 'ULT3580-TD9', 'N9J1', 9, 'full-height'),
  model('IBM', 'ULT3580-TDA', 'Q0J1', 10, 'full-height'),
  model('IBM', 'ULTRIUM-HH5', 'E6R3', 5, 'half-height'),
  model('IBM', 'ULTRIUM-HH6', 'J452', 6, 'half-height'),
  model('IBM', 'ULTRIUM-HH7', 'JAX2', 7, 'half-height'),
  model('IBM', 'ULTRIUM-HH8', 'KAJ2', 8, 'half-height'),
  model('IBM', 'ULTRIUM-HH9', 'N9J2', 9, 'half-height'),
  model('HP', 'Ultrium 5-SCSI', 'Z6JD', 5, 'full-height'),
  model('HP', 'Ultrium 6-SCSI', '35GD', 6, 'full-height'),
  model('HP', 'Ultrium 7-SCSI', 'J4DB', 7, 'full-height'),
  model('HPE', 'Ultrium 8-SCSI', 'K5G4', 8, 'full-height'),
  model('HPE', 'Ultrium 9-SCSI', 'P3A1', 9, 'full-height'),
  model('QUANTUM', 'ULTRIUM-HH5', '3210', 5, 'half-height'),
  model('QUANTUM', 'ULTRIUM-HH6', '3310', 6, 'half-height'),
  model('QUANTUM', 'ULTRIUM-HH7', 'K241', 7, 'half-height'),
  model('QUANTUM', 'ULTRIUM-HH8', 'L5E1', 8, 'half-height'),
  model('QUANTUM', 'ULTRIUM-HH9', 'N1G1', 9, 'half-height'),
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
    // 'LTO10' too, once the image's MediaType names it.
    const m = /^LTO(\d+)(-WORM)?$/.exec(media);
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

/**
 * Mode parameters of the tape drive (SSC-4 mode parameters): the header's MEDIUM TYPE and DEVICE-SPECIFIC
 * PARAMETER, the block descriptor, and the pages Data Compression (0Fh), Device Configuration
 * (10h), Medium Partition (11h, partitions.ts) and Medium Configuration (1Dh). The SPC framework
 * (src/target/scsi/spc/mode.ts) builds MODE SENSE replies from these and checks MODE SELECT
 * pages against the changeable masks before `select` applies the changeable fields.
 */
import { deviceConfigurationExtensionPage } from './pew.js';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { ModeBlockDescriptorSpec, ModePageSpec, PageControl } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';
import { mediaGeneration } from './models.js';
import { mediumPartitionPage } from './partitions.js';

export { mediumPartitionPage } from './partitions.js';

const WP = 0x80;
const BLOCK_DESCRIPTOR_LENGTH = 8;

/** INVALID FIELD IN PARAMETER LIST at `byte` of the page or descriptor (the framework rebases it). */
function invalidParameter(byte: number, bit?: number): SenseError {
  return new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, {
    inParameterList: true,
    fieldPointer: byte,
    ...(bit === undefined ? {} : { bitPointer: bit }),
  });
}

/**
 * Mode parameter header and block descriptor (SSC-4). DEVICE-SPECIFIC PARAMETER: WP (bit 7,
 * the cartridge is write-protected: st then refuses O_RDWR opens), BUFFERED MODE (bits 6-4,
 * PBS sets 1), SPEED 0. The block descriptor is always there, density 00h without a cartridge: PBS reads
 * MODE SENSE(10) with no cartridge and wants exactly 8 descriptor bytes.
 */
export const tapeBlockDescriptor: ModeBlockDescriptorSpec<TapeDrive> = {
  mediumType: (drive) => drive.mediumType,
  deviceSpecific: (drive) => (drive.writeProtected ? WP : 0) | ((drive.bufferedMode & 0x07) << 4),
  blockDescriptors(drive: TapeDrive, pc: PageControl): Buffer[] {
    const w = new ByteWriter(BLOCK_DESCRIPTOR_LENGTH);
    if (pc === 'changeable') w.u8(0xff).u24(0).u8(0).u24(0xffffff);
    else if (pc === 'default') w.u8(0).u24(0).u8(0).u24(0);
    // NUMBER OF BLOCKS 0: the rest of the medium has this density and block length.
    else w.u8(drive.densityCode).u24(0).u8(0).u24(drive.blockLength);
    return [w.buf];
  },
  select(drive: TapeDrive, descriptor: Buffer | null, deviceSpecific: number): void {
    const buffered = (deviceSpecific >> 4) & 0x07;
    // BUFFERED MODE 0, 1 and 2 are defined; the rest are reserved. The header byte's place
    // differs between MODE SELECT(6) and (10), so no field pointer is claimed.
    if (buffered > 2) throw new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST);
    let blockLength = drive.blockLength;
    if (descriptor) {
      const r = new ByteReader(descriptor);
      const density = r.u8();
      r.skip(4); // NUMBER OF BLOCKS and reserved: ignored, as st and PBS echo what they read
      blockLength = r.u24();
      if (!densityAcceptable(drive, density)) throw invalidParameter(0);
      if (blockLength > drive.maxBlockLength) throw invalidParameter(5);
    }
    // WP in a MODE SELECT header is ignored (SSC-4 mode parameter header): the cartridge decides.
    drive.bufferedMode = buffered;
    drive.blockLength = blockLength;
  },
};

/**
 * DENSITY CODE in MODE SELECT: 00h keeps the current one; the loaded cartridge's own density is
 * accepted as a no-op; without a cartridge any density the drive writes is. Anything else would
 * mean reformatting (e.g. M8 on an LTO-7 cartridge), which is not modelled.
 */
function densityAcceptable(drive: TapeDrive, density: number): boolean {
  if (density === 0 || density === drive.densityCode) return true;
  return drive.image === null && drive.model.densities.some((d) => d.write && d.density.code === density);
}

const DCE = 0x80;
const DCC = 0x40;
const DDE = 0x80;
/** Compression algorithm 1: the drive's default (LTO SLDC); PBS and LTFS only toggle DCE. */
const COMPRESSION_ALGORITHM = 1;
const DATA_COMPRESSION_LENGTH = 16;

/** Data Compression page (SSC-4): page length 0Eh, only DCE changeable (st MTCOMPRESSION). */
export const dataCompressionPage: ModePageSpec<TapeDrive> = {
  name: 'Data Compression',
  page: 0x0f,
  subpage: 0,
  length: DATA_COMPRESSION_LENGTH,
  encode(drive: TapeDrive, pc: PageControl): Buffer {
    const w = new ByteWriter(DATA_COMPRESSION_LENGTH);
    w.u8(0x0f).u8(DATA_COMPRESSION_LENGTH - 2);
    if (pc === 'changeable') return w.u8(DCE).buf;
    const dce = pc === 'default' ? true : drive.compression;
    w.u8((dce ? DCE : 0) | DCC)
      .u8(DDE)
      .u32(COMPRESSION_ALGORITHM)
      .u32(COMPRESSION_ALGORITHM);
    return w.buf;
  },
  select(drive: TapeDrive, page: Buffer): void {
    drive.compression = (page[2] & DCE) !== 0;
  },
};

const LOIS = 0x40;
const EEG = 0x10;
const SEW = 0x08;
const DEVICE_CONFIGURATION_LENGTH = 16;
const WRITE_DELAY_TIME_AT = 6;
const SELECT_DATA_COMPRESSION_AT = 14;

/**
 * Device Configuration page (SSC-4): LOIS (logical object identifiers are what READ
 * POSITION reports), EEG (EOD is generated) and SEW (data is synced at early warning) set;
 * WRITE DELAY TIME and SELECT DATA COMPRESSION ALGORITHM (00h off, 01h default algorithm, the
 * same switch as DCE) are changeable. LTFS reads WP from this page's header.
 */
export const deviceConfigurationPage: ModePageSpec<TapeDrive> = {
  name: 'Device Configuration',
  page: 0x10,
  subpage: 0,
  length: DEVICE_CONFIGURATION_LENGTH,
  encode(drive: TapeDrive, pc: PageControl): Buffer {
    const w = new ByteWriter(DEVICE_CONFIGURATION_LENGTH);
    w.u8(0x10).u8(DEVICE_CONFIGURATION_LENGTH - 2);
    if (pc === 'changeable') {
      w.seek(WRITE_DELAY_TIME_AT).u16(0xffff).seek(SELECT_DATA_COMPRESSION_AT).u8(0xff);
      return w.buf;
    }
    const current = pc === 'current';
    w.u8(0)
      .u8(0)
      .u8(0)
      .u8(0)
      .u16(current ? drive.writeDelayTime : 0);
    w.u8(LOIS)
      .u8(0)
      .u8(EEG | SEW)
      .u24(0);
    w.u8(!current || drive.compression ? 1 : 0).u8(0);
    return w.buf;
  },
  select(drive: TapeDrive, page: Buffer): void {
    const r = new ByteReader(page, WRITE_DELAY_TIME_AT);
    const writeDelayTime = r.u16();
    const algorithm = r.seek(SELECT_DATA_COMPRESSION_AT).u8();
    if (algorithm > 1) throw invalidParameter(SELECT_DATA_COMPRESSION_AT);
    drive.writeDelayTime = writeDelayTime;
    drive.compression = algorithm === 1;
  },
};

const MEDIUM_CONFIGURATION_LENGTH = 32;
const WORMM = 0x01;
/** WORM MODE FILEMARK RESTRICTIONS 03h: filemarks just before EOD may be overwritten. */
const WORM_FILEMARK_RESTRICTIONS = 0x03;

/**
 * Medium Configuration page (SSC-4): page length 1Eh, WORMM set for a WORM cartridge
 * (PBS checks it before formatting). No label may be overwritten on WORM media.
 */
export const mediumConfigurationPage: ModePageSpec<TapeDrive> = {
  name: 'Medium Configuration',
  page: 0x1d,
  subpage: 0,
  length: MEDIUM_CONFIGURATION_LENGTH,
  encode(drive: TapeDrive, pc: PageControl): Buffer {
    const w = new ByteWriter(MEDIUM_CONFIGURATION_LENGTH);
    w.u8(0x1d).u8(MEDIUM_CONFIGURATION_LENGTH - 2);
    if (pc === 'changeable') return w.buf;
    const image = drive.image;
    const worm = pc === 'current' && image !== null && mediaGeneration(image.meta.mediaType)?.worm === true;
    w.u8(worm ? WORMM : 0)
      .u8(0)
      .u8(0x00)
      .u8(WORM_FILEMARK_RESTRICTIONS);
    return w.buf;
  },
  select(): void {
    // Nothing is changeable: the framework has refused any change against the mask already.
  },
};

export const TAPE_MODE_PAGES: readonly ModePageSpec<TapeDrive>[] = [
  dataCompressionPage,
  deviceConfigurationPage,
  deviceConfigurationExtensionPage,
  mediumPartitionPage,
  mediumConfigurationPage,
];

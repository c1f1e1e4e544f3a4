/**
 * REPORT DENSITY SUPPORT (SSC-4 REPORT DENSITY SUPPORT and its density support data format).
 * MEDIA=0 lists every density the drive generation reads (WRTOK where it also writes; DEFLT on
 * its native density): PBS takes the highest primary density code as the drive generation.
 * MEDIA=1 lists the densities the loaded cartridge can hold (an LTO-7 cartridge in an LTO-8
 * drive: LTO-7 and M8), DEFLT on the one it is recorded in. MEDIUM TYPE=1 (medium type
 * descriptors) is outside the usage mask (table.ts): INVALID FIELD IN CDB, byte 1 bit 1.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { SscContext } from './common.js';
import { DENSITY_ASSIGNING_ORGANIZATION, MEDIA_WIDTH_TENTHS_MM, mediaDensity } from './models.js';
import type { DensityInfo, DriveDensity } from './models.js';

const MEDIA = 0x01;
const WRTOK = 0x80;
const DEFLT = 0x20;
/** DLV: the DESCRIPTOR LENGTH field is valid. */
const DLV = 0x01;
const DESCRIPTOR_LENGTH = 52;
/** SSC-4: DESCRIPTOR LENGTH is 0031h for the 52-byte density support descriptor. */
const DESCRIPTOR_LENGTH_FIELD = 0x0031;
const HEADER_LENGTH = 4;

function encodeDescriptor(w: ByteWriter, d: DensityInfo, writable: boolean, isDefault: boolean): void {
  w.u8(d.code).u8(d.code);
  w.u8((writable ? WRTOK : 0) | (isDefault ? DEFLT : 0) | DLV);
  w.u16(DESCRIPTOR_LENGTH_FIELD);
  w.u24(d.bitsPerMm).u16(MEDIA_WIDTH_TENTHS_MM).u16(d.tracks).u32(d.capacityMb);
  w.ascii(DENSITY_ASSIGNING_ORGANIZATION, 8).ascii(d.name, 8).ascii(d.description, 20);
}

export function reportDensitySupport(ctx: SscContext): HandlerResult {
  const drive = ctx.device;
  const r = new ByteReader(ctx.cdb, 1);
  const media = (r.u8() & MEDIA) !== 0;
  const allocation = r.skip(5).u16();

  let list: readonly DriveDensity[] = drive.model.densities;
  let defaultCode = list[0].density.code;
  if (media) {
    // Densities for the mounted medium: NOT READY without one (requireImage says which).
    const recorded = mediaDensity(drive.requireImage().meta.mediaType)!;
    list = list.filter((x) => x.density.cartridgeGeneration === recorded.cartridgeGeneration);
    defaultCode = recorded.code;
  }
  const w = new ByteWriter(HEADER_LENGTH + list.length * DESCRIPTOR_LENGTH);
  w.u16(w.buf.length - 2).u16(0);
  for (const x of list) encodeDescriptor(w, x.density, x.write, x.density.code === defaultCode);
  return w.buf.subarray(0, Math.min(w.buf.length, allocation));
}

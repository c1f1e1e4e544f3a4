/**
 * Programmable early warning (SSC-4 4.2.5, early-warning zones): a host sets PROGRAMMABLE EARLY
 * WARNING SIZE (PEWS, megabytes) in the Device Configuration Extension mode page (10h/01h), and
 * the drive reports, once, the first write that reaches that many megabytes before the early
 * warning point: CHECK CONDITION, NO SENSE, EOM, 00/07 PROGRAMMABLE EARLY WARNING DETECTED,
 * everything written (clients.md 4). LTFS sets PEWS to half the index partition so it still has
 * room for an index when it hears it (LTFS `tape_set_pews`); READ POSITION reports the zone with
 * BPEW.
 *
 * Page layout (SSC-4 Device Configuration Extension; LTFS reads it at the same offsets):
 *   byte 0  PS, SPF=1, PAGE CODE 10h   byte 1  SUBPAGE 01h   bytes 2-3  PAGE LENGTH 1Ch
 *   byte 4  TARPF TASER TARPT TAPLSD (0: no TapeAlert prevention)
 *   byte 5  WRITE MODE (bits 7-4; 0 = overwrite allowed) SHORT ERASE MODE (bits 1-0; 0)
 *   bytes 6-7  PEWS in megabytes (changeable)
 */
import type { ModePageSpec, PageControl } from '../../target/scsi/types.js';
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { earlyWarningOf } from '../image/tape-image.js';
import type { TapeImage } from '../image/types.js';
import type { TapeDrive } from './drive.js';

const SPF = 0x40;
const LENGTH = 32;
const PEWS_AT = 6;
const MB = 1_000_000;

export const deviceConfigurationExtensionPage: ModePageSpec<TapeDrive> = {
  name: 'Device Configuration Extension',
  page: 0x10,
  subpage: 0x01,
  length: LENGTH,
  encode(drive: TapeDrive, pc: PageControl): Buffer {
    const w = new ByteWriter(LENGTH);
    w.u8(SPF | 0x10)
      .u8(0x01)
      .u16(LENGTH - 4);
    if (pc === 'changeable') return w.seek(PEWS_AT).u16(0xffff).buf;
    return w.seek(PEWS_AT).u16(pc === 'current' ? drive.pews : 0).buf;
  },
  select(drive: TapeDrive, page: Buffer): void {
    // Only PEWS is changeable; the framework has refused any other change against the mask.
    drive.pews = new ByteReader(page, PEWS_AT).u16();
    drive.pewReported = false;
  },
};

/** Bytes between the head at EOD and the end of its partition, and that partition's early warning. */
function zoneOf(image: TapeImage): { left: number; earlyWarning: number } {
  const p = image.position().partition;
  const capacity = image.partitionCapacities()[p];
  const used = image.partitionBytesUsed()[p];
  return { left: capacity - used, earlyWarning: earlyWarningOf(image.meta, capacity) };
}

/**
 * True when the data written so far in the head's partition reaches the programmable early
 * warning point (PEWS megabytes before early warning). Writes happen at EOD, so this is where
 * the head is after them; READ POSITION asks it only at EOD.
 */
export function inProgrammableEarlyWarningZone(drive: TapeDrive, image: TapeImage): boolean {
  if (drive.pews === 0) return false;
  const { left, earlyWarning } = zoneOf(image);
  return left <= earlyWarning + drive.pews * MB;
}

/**
 * After a WRITE or WRITE FILEMARKS: true the first time the zone is reached (the caller
 * reports 00/07); false inside it afterwards and whenever the drive has left it again.
 */
export function crossedProgrammableEarlyWarning(drive: TapeDrive, image: TapeImage): boolean {
  const inZone = inProgrammableEarlyWarningZone(drive, image);
  if (!inZone) {
    drive.pewReported = false;
    return false;
  }
  if (drive.pewReported) return false;
  drive.pewReported = true;
  return true;
}

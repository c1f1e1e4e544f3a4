/**
 * Control Data Protection mode page (SSC-4, page 0Ah subpage F0h): logical block protection.
 * IBM LTO-5 and later drives have it, and LTFS reads and writes it on every IBM drive it opens
 * (to switch LBP off by default, or on with `scsi_lbprotect=on`: method, length 4, LBP_W and
 * LBP_R; LTFS sg_tape.c `_set_lbp`). HP/HPE and Quantum personalities do not offer it, as LTFS's
 * HP backend never touches it. The data path (data-path.ts) applies the settings.
 *
 *   byte 0     PS, SPF=1, PAGE CODE 0Ah      byte 4  LOGICAL BLOCK PROTECTION METHOD
 *   byte 1     SUBPAGE CODE F0h              byte 5  bits 5-0 LOGICAL BLOCK PROTECTION
 *   bytes 2-3  PAGE LENGTH 001Ch                     INFORMATION LENGTH
 *                                            byte 6  LBP_W (7), LBP_R (6), RBDP (5)
 *                                            bytes 7-31 reserved
 *
 * Only CRC32C (method 02h, what LTFS picks from LTO-7 on) is implemented; Reed-Solomon CRC (01h,
 * LTFS's choice for LTO-5/6 when LBP is switched on) is refused with INVALID FIELD IN PARAMETER
 * LIST at the method byte, so such a host learns it at MODE SELECT instead of at its first write.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { ModePageSpec, PageControl } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';
import type { DriveModel } from './models.js';
import { LBP_CRC32C_LENGTH, LbpMethod } from './data-path.js';

const PAGE_LENGTH = 32;
const SPF = 0x40;
const LBP_W = 0x80;
const LBP_R = 0x40;
const RBDP = 0x20;
const At = { method: 4, infoLength: 5, flags: 6 } as const;

function invalid(byte: number, bit?: number): SenseError {
  return new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, {
    inParameterList: true,
    fieldPointer: byte,
    ...(bit === undefined ? {} : { bitPointer: bit }),
  });
}

export const controlDataProtectionPage: ModePageSpec<TapeDrive> = {
  name: 'Control Data Protection',
  page: 0x0a,
  subpage: 0xf0,
  length: PAGE_LENGTH,
  encode(drive: TapeDrive, pc: PageControl): Buffer {
    const w = new ByteWriter(PAGE_LENGTH);
    w.u8(SPF | 0x0a)
      .u8(0xf0)
      .u16(PAGE_LENGTH - 4);
    if (pc === 'changeable')
      return w
        .u8(0xff)
        .u8(0x3f)
        .u8(LBP_W | LBP_R | RBDP).buf;
    if (pc !== 'current') return w.buf; // default: no protection
    const lbp = drive.dataPath.lbp;
    return w
      .u8(lbp.method)
      .u8(lbp.method === LbpMethod.NONE ? 0 : LBP_CRC32C_LENGTH)
      .u8((lbp.lbpW ? LBP_W : 0) | (lbp.lbpR ? LBP_R : 0) | (lbp.rbdp ? RBDP : 0)).buf;
  },
  select(drive: TapeDrive, page: Buffer): void {
    const r = new ByteReader(page, At.method);
    const method = r.u8();
    const length = r.u8() & 0x3f;
    const flags = r.u8();
    if (method !== LbpMethod.NONE && method !== LbpMethod.CRC32C) throw invalid(At.method);
    // SSC-4: the information length is that of the method (4 for CRC32C, 0 without protection).
    const expected = method === LbpMethod.NONE ? 0 : LBP_CRC32C_LENGTH;
    if (length !== expected) throw invalid(At.infoLength, 5);
    // LBP_W / LBP_R without a method would protect with nothing.
    if (method === LbpMethod.NONE && (flags & (LBP_W | LBP_R)) !== 0)
      throw invalid(At.flags, flags & LBP_W ? 7 : 6);
    drive.dataPath.lbp = {
      method,
      lbpW: (flags & LBP_W) !== 0,
      lbpR: (flags & LBP_R) !== 0,
      rbdp: (flags & RBDP) !== 0,
    };
  },
};

/** Personalities with logical block protection: IBM LTO-5 and later (see the file comment). */
export function hasLogicalBlockProtection(model: DriveModel): boolean {
  return model.vendor === 'IBM' && model.generation >= 5;
}

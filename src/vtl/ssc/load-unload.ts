/**
 * LOAD UNLOAD (SSC-4 LOAD UNLOAD) and PREVENT ALLOW MEDIUM REMOVAL (SPC-4).
 *
 * LOAD=0 syncs, rewinds and unthreads: the cartridge stays in the drive for a changer to take,
 * and the drive answers NOT READY 3A/00 until LOAD=1 threads it again (st MTOFFL / MTLOAD, PBS
 * eject, Bareos `offline`). While any I_T nexus prevents removal, LOAD=0 is ILLEGAL REQUEST
 * 53/02 (MEDIUM REMOVAL PREVENTED). RETEN is instant; HOLD is outside the usage mask (table.ts).
 */
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { SscContext } from './common.js';

const EOT = 0x04;
const LOAD = 0x01;

export function validateLoadUnload(ctx: SscContext): void {
  const flags = ctx.cdb[4];
  // SSC-4: EOT=1 together with LOAD=1 is INVALID FIELD IN CDB.
  if (flags & LOAD && flags & EOT)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 4, bitPointer: 2 });
}

export function loadUnload(ctx: SscContext): Promise<HandlerResult> {
  validateLoadUnload(ctx);
  const drive = ctx.device;
  const load = (new ByteReader(ctx.cdb, 4).u8() & LOAD) !== 0;
  return drive.exclusive(async () => {
    if (drive.state === 'empty') throw new SenseError(SENSE.MEDIUM_NOT_PRESENT);
    if (load) {
      const image = drive.cartridgeInDrive!;
      if (drive.state === 'loaded') {
        // Already threaded: LOAD positions at BOP.
        await image.sync();
        await image.rewind();
        return;
      }
      await drive.threadNow();
      // The issuer knows; every other I_T nexus learns the medium may have changed.
      ctx.spc.raiseUnitAttention(SENSE.NOT_READY_TO_READY_CHANGE, { except: ctx.nexus });
      return;
    }
    if (drive.removalPrevented) throw new SenseError(SENSE.MEDIUM_REMOVAL_PREVENTED);
    await drive.unthreadNow();
  });
}

/** PREVENT field (byte 4 bits 1-0): 00b allow, 01b prevent; 1xb (obsolete) is outside the usage mask. */
export function preventAllowMediumRemoval(ctx: SscContext): HandlerResult {
  const prevent = new ByteReader(ctx.cdb, 4).u8() & 0x03;
  ctx.device.setPrevent(ctx.nexus, prevent === 0x01);
}
